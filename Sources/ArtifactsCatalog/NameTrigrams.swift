// Keeping `name_trigram` (how many names hold each trigram, schema v004) true as files are
// inserted: the code that inserts files counts their names once per batch (v007), instead of a
// trigger upserting every trigram of every row one statement at a time.
import GRDB

enum NameTrigrams {
  /// The distinct trigrams the index counts for `name`: `substr(lower(name), n, 3)` for n from
  /// 1 to `length(name) - 2`, as the v004 trigger had them. SQLite's lower() folds ASCII
  /// letters only, and length() stops at the first NUL; trigrams are of code points.
  static func distinct(in name: String) -> Set<String> {
    var scalars: [Unicode.Scalar] = []
    for scalar in name.unicodeScalars {
      if scalar == "\0" { break }
      scalars.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 0x20)! : scalar)
    }
    guard scalars.count >= 3 else { return [] }
    var trigrams = Set<String>()
    for start in 0...(scalars.count - 3) {
      var trigram = String.UnicodeScalarView()
      trigram.append(contentsOf: scalars[start..<start + 3])
      trigrams.insert(String(trigram))
    }
    return trigrams
  }
}

extension Catalog {
  /// The newest container file's row id (0 when there is none). Rows inserted later in the
  /// same write transaction get larger ids (SQLite gives a new row one more than the largest),
  /// so this marks where a batch of inserts starts.
  static func lastFileRowID(_ db: Database) throws -> Int64 {
    try db.fetchOneCached(Int64.self, sql: "SELECT max(id) FROM container_file") ?? 0
  }

  /// Adds the names of the files inserted after `rowID` to the trigram counts: one upsert per
  /// distinct trigram of the batch. Every path that inserts files calls it before it commits.
  static func countNameTrigrams(ofFilesAfter rowID: Int64, _ db: Database) throws {
    var counts: [String: Int] = [:]
    let names = try String.fetchCursor(
      db.cachedStatement(sql: "SELECT filename FROM container_file WHERE id > ?"), arguments: [rowID])
    while let name = try names.next() {
      for trigram in NameTrigrams.distinct(in: name) { counts[trigram, default: 0] += 1 }
    }
    // In key order, so consecutive upserts land on neighbouring pages of the table.
    for (trigram, files) in counts.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
      try db.executeCached(
        sql: """
          INSERT INTO name_trigram (trigram, files) VALUES (?, ?)
          ON CONFLICT (trigram) DO UPDATE SET files = files + excluded.files
          """, arguments: [trigram, files])
    }
  }
}
