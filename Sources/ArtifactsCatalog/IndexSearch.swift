// Asking the trigram index for names that contain a text, by the text's rarest trigrams.
//
// FTS5 answers a phrase by reading the list of names of every trigram in it, and a trigram
// such as "for" or "png" can be in 60,000 names of a million: for `forecast_4242` those lists
// cost five times more than the ten names that match. Every match contains every trigram of
// the pattern, so asking for a few rare ones finds them all; the name itself is checked after
// (GLOB, instr, or the case-folding `artifacts_name_contains`). `name_trigram` (schema v004)
// says how rare each trigram is.
import GRDB

struct IndexSearch {
  /// Past this share of all names holding the rarest trigram, the index cannot narrow much:
  /// walking names in the order asked for and checking each finds a page sooner than reading
  /// every match and sorting them (a three-letter pattern in 62,500 of 1,000,000 names).
  static let commonShare: Int64 = 40

  /// The FTS5 MATCH expression.
  let match: String
  /// True when it names only some of the text's trigrams, so the index returns names that
  /// may not contain the text; false for the whole text as a phrase, which is exact.
  let isPartial: Bool
  /// How many names hold the text's rarest trigram (0 when the counts do not say).
  let rarestFiles: Int64

  /// Each trigram asked for costs reading its list; three rare ones leave few candidates.
  static let maximumTerms = 3
  /// A trigram is worth asking for while it is in at most this many times as many names as
  /// the rarest: past that, reading its list costs more than checking the names it removes.
  static let spread: Int64 = 8

  /// nil when the text is too short to have a trigram.
  init?(_ text: String, _ db: Database) throws {
    let scalars = Array(text.unicodeScalars)
    guard scalars.count >= 3 else { return nil }
    var trigrams: [String] = []
    for start in 0...(scalars.count - 3) {
      var trigram = String.UnicodeScalarView()
      trigram.append(contentsOf: scalars[start..<start + 3])
      if !trigrams.contains(String(trigram)) { trigrams.append(String(trigram)) }
    }
    // The counts are kept under SQLite's lower(), which folds ASCII only: a trigram with
    // other characters has no reliable count and is left to the phrase.
    let counted = trigrams.filter { $0.unicodeScalars.allSatisfy(\.isASCII) }
    var chosen: [String] = []
    var rarestFiles: Int64 = 0
    if !counted.isEmpty {
      var files: [String: Int64] = [:]
      let keys = counted.map { $0.lowercased() }
      let rows = try Row.fetchCursor(
        db,
        sql: "SELECT trigram, files FROM name_trigram WHERE trigram IN (\(databaseQuestionMarks(count: keys.count)))",
        arguments: StatementArguments(keys))
      while let row = try rows.next() { files[row[0]] = row[1] }
      // Rarest first; ties keep the pattern's order.
      let ranked = zip(counted, keys).enumerated().map { (files[$0.element.1] ?? 0, $0.offset, $0.element.0) }.sorted {
        ($0.0, $0.1) < ($1.0, $1.1)
      }
      let rarest = ranked[0].0
      rarestFiles = rarest
      if trigrams.count > 1 {
        chosen = ranked.prefix(Self.maximumTerms).filter { $0.0 <= max(rarest, 1) * Self.spread }.map(\.2)
      }
    }
    self.rarestFiles = rarestFiles
    if chosen.isEmpty || chosen.count == trigrams.count {
      match = Self.quoted(text)
      isPartial = false
    } else {
      match = chosen.map(Self.quoted).joined(separator: " AND ")
      isPartial = true
    }
  }

  /// An FTS5 string literal: the text between double quotes, quotes doubled.
  static func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}

/// Case-insensitive containment as the trigram index sees it: every character folded to its
/// simple lower case, compared by code point (no normalisation), so the check after a partial
/// index search agrees with what the phrase would have matched.
enum NameFolding {
  /// `artifacts_name_contains(name, text)`: 1 when the folded name contains the folded text.
  static let containsFunction = DatabaseFunction("artifacts_name_contains", argumentCount: 2, pure: true) { values in
    guard let name = String.fromDatabaseValue(values[0]), let text = String.fromDatabaseValue(values[1]) else {
      return nil
    }
    return contains(name, text)
  }

  static func contains(_ name: String, _ text: String) -> Bool {
    let needle = folded(text)
    if needle.isEmpty { return true }
    let haystack = folded(name)
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
      if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
    }
    return false
  }

  /// The folded text as a string (what the PostgreSQL catalog keeps in `name_folded`).
  static func foldedString(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    scalars.append(contentsOf: folded(text))
    return String(scalars)
  }

  static func folded(_ text: String) -> [Unicode.Scalar] {
    text.unicodeScalars.map { scalar in
      if scalar.isASCII {
        return scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 0x20)! : scalar
      }
      let lower = scalar.properties.lowercaseMapping.unicodeScalars
      return lower.count == 1 ? lower.first! : scalar
    }
  }
}
