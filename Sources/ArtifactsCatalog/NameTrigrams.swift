// Keeping `name_trigram` (how many names hold each trigram, schema v004) true as files are
// inserted: the code that inserts files counts their names once per batch (v007), instead of a
// trigger upserting every trigram of every row one statement at a time.
import GRDB

/// Trigram counts of a batch of names, as the index keys them: `substr(lower(name), n, 3)`
/// for n from 1 to `length(name) - 2`, each counted once per name, as the v004 trigger had
/// them. SQLite's lower() folds ASCII letters only, and length() stops at the first NUL;
/// trigrams are of code points.
struct NameTrigramTally {
  /// Trigrams of three ASCII characters, packed in the low 21 bits of a code point each
  /// (no String per trigram: most names are ASCII).
  private var packed: [UInt64: Int] = [:]
  /// Trigrams with another character in them.
  private var other: [String: Int] = [:]

  mutating func add(_ name: String) {
    var scalars: [UInt32] = []
    scalars.reserveCapacity(name.utf8.count)
    for scalar in name.unicodeScalars {
      if scalar == "\0" { break }
      scalars.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? scalar.value + 0x20 : scalar.value)
    }
    guard scalars.count >= 3 else { return }
    var seenPacked: [UInt64] = []
    var seenOther: Set<String> = []
    for start in 0...(scalars.count - 3) {
      let (a, b, c) = (scalars[start], scalars[start + 1], scalars[start + 2])
      if a < 0x80 && b < 0x80 && c < 0x80 {
        let key = UInt64(a) << 42 | UInt64(b) << 21 | UInt64(c)
        if !seenPacked.contains(key) {
          seenPacked.append(key)
          packed[key, default: 0] += 1
        }
      } else {
        var trigram = String.UnicodeScalarView()
        for value in [a, b, c] { trigram.append(Unicode.Scalar(value)!) }
        if seenOther.insert(String(trigram)).inserted { other[String(trigram), default: 0] += 1 }
      }
    }
  }

  /// Each trigram and how many of the names hold it, in key order (bytes of UTF-8).
  var counts: [(trigram: String, files: Int)] {
    var all = other.map { (trigram: $0.key, files: $0.value) }
    for (key, files) in packed {
      let bytes = [UInt8(key >> 42), UInt8(key >> 21 & 0x7F), UInt8(key & 0x7F)]
      all.append((String(decoding: bytes, as: UTF8.self), files))
    }
    return all.sorted { $0.trigram.utf8.lexicographicallyPrecedes($1.trigram.utf8) }
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
    var tally = NameTrigramTally()
    let names = try String.fetchCursor(
      db.cachedStatement(sql: "SELECT filename FROM container_file WHERE id > ?"), arguments: [rowID])
    while let name = try names.next() { tally.add(name) }
    // In key order, so consecutive upserts land on neighbouring pages of the table.
    for (trigram, files) in tally.counts {
      try db.executeCached(
        sql: """
          INSERT INTO name_trigram (trigram, files) VALUES (?, ?)
          ON CONFLICT (trigram) DO UPDATE SET files = files + excluded.files
          """, arguments: [trigram, files])
    }
  }
}
