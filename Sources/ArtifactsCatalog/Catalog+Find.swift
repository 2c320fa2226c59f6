// Selecting files: by name (substring, glob, regex or exact, smart case) and by provenance.
// `find`, `export` and `show` all select through here; substring and glob patterns are
// answered from the trigram index on names, not by scanning every row.
import ArtifactsCore
import Foundation
import GRDB

public enum FindError: Error, Sendable, CustomStringConvertible {
  case invalidRegex(String, String)

  public var description: String {
    switch self {
    case .invalidRegex(let pattern, let reason): "invalid regular expression \(pattern): \(reason)"
    }
  }
}

extension Catalog: ArchiveIndex {
  public func find(_ query: FindQuery) throws(CatalogError) -> [FoundFile] {
    let page = try firstPage(query)
    return try read { db in
      var files: [FoundFile] = []
      try Self.hand(page, query, db) { file in
        files.append(file)
        return true
      }
      if query.detail == .full { try Self.attachCitations(to: &files, db) }
      return files
    }
  }

  /// With `.paths` detail, straight from the cursor: a list of 62,500 paths is written as it
  /// is read instead of held twice over (the catalog's rows, then Kit's records).
  public func forEachFound(_ query: FindQuery, _ body: (FoundFile) -> Bool) throws {
    guard query.detail == .paths else { return try forEach(inListOf: query, body) }
    let page = try firstPage(query)
    try read { db in try Self.hand(page, query, db, to: body) }
  }

  /// The page `query` asks for, with nothing on it yet.
  private func firstPage(_ query: FindQuery) throws(CatalogError) -> FindPage {
    do { return try FindPage(query) } catch { throw CatalogError(.queryFailed, path: path, detail: error.description) }
  }

  /// The files of `query`'s page, handed to `body` as the cursor reads them.
  private static func hand(
    _ empty: FindPage, _ query: FindQuery, _ db: Database, to body: (FoundFile) -> Bool
  ) throws {
    var page = empty
    var (sql, arguments) = try selection(query, db)
    sql += page.sqlLimit(all: "-1")
    let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
    while let row = try rows.next(), page.hand(foundFile(row), to: body) {}
  }

  /// Files an id names: a `cfile_…` (or any file id), a digest or a prefix of one (4+ hex
  /// digits), or else an exact file name.
  public func lookup(_ id: String) throws(CatalogError) -> [FoundFile] {
    try read { db in
      var files = try Row.fetchAll(
        db, sql: Self.baseSelect + " WHERE f.file_id = ? ORDER BY f.id", arguments: [id]
      ).map(Self.foundFile)
      if files.isEmpty, id.count >= 4, Digest.isHexPrefix(id) {
        files = try Row.fetchAll(
          db, sql: Self.baseSelect + " WHERE f.digest >= ? AND f.digest < ? ORDER BY f.id",
          arguments: [id.lowercased(), id.lowercased() + "g"]
        ).map(Self.foundFile)
      }
      if files.isEmpty {
        files = try Row.fetchAll(db, sql: Self.baseSelect + " WHERE f.filename = ? ORDER BY f.id", arguments: [id])
          .map(Self.foundFile)
      }
      try Self.attachCitations(to: &files, db)
      return files
    }
  }

  static let baseSelect = select(joiningBlobs: true)

  /// Without the blob join, size and media type are NULL. With `pathsOnly`
  /// (`FindQuery.Detail.paths`) the columns end at the state: every column a row carries
  /// through the sort costs, and 62,500 sorted rows of 13 columns took 0.30 s against 0.24 s
  /// for 8.
  ///
  /// `blobsFirst` walks the blobs and joins each one's files (every file listed is archived).
  static func select(joiningBlobs: Bool, pathsOnly: Bool = false, blobsFirst: Bool = false) -> String {
    """
    SELECT f.id, f.filename, f.digest, \(joiningBlobs ? "b.size, b.media_type" : "NULL, NULL"), f.container_id,
      f.file_id, f.state\(pathsOnly ? "" : ", f.source, f.first_seen_at, f.archived_at, f.last_error, f.attempts")
    \(blobsFirst
      ? "FROM blob b CROSS JOIN container_file f ON f.digest = b.digest"
      : "FROM container_file f" + (joiningBlobs ? " LEFT JOIN blob b ON b.digest = f.digest" : ""))
    """
  }

  /// A row of `select`; one without the later columns (paths only) has an empty source and
  /// first-seen time, no archive time or error, and no attempts.
  static func foundFile(_ row: Row) -> FoundFile {
    let full = row.count > 8
    return FoundFile(
      rowID: row[0], filename: row[1], digest: (row[2] as String?).flatMap(Digest.init(hex:)), size: row[3],
      mediaType: row[4], containerID: row[5], fileID: row[6], state: FileState(rawValue: row[7]) ?? .pending,
      source: full ? row[8] : "", firstSeenAt: full ? row[9] : "", archivedAt: full ? row[10] : nil,
      lastError: full ? row[11] : nil, attempts: full ? row[12] : 0)
  }

  public func count(in states: Set<FileState>) throws(CatalogError) -> Int {
    guard !states.isEmpty else { return 0 }
    let values = states.map(\.rawValue).sorted()
    return try read { db in
      try Int.fetchOne(
        db, sql: "SELECT count(*) FROM container_file WHERE state IN (\(databaseQuestionMarks(count: values.count)))",
        arguments: StatementArguments(values)) ?? 0
    }
  }

  /// Counts of container files by state.
  public func stateCounts() throws(CatalogError) -> [FileState: Int] {
    try read { db in
      var counts: [FileState: Int] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM container_file GROUP BY state") {
        if let state = FileState(rawValue: row[0]) { counts[state] = row[1] }
      }
      return counts
    }
  }

  /// The latest time a file was cited (its newest citing response), else when it was archived:
  /// a column kept by triggers (v006) and indexed for newest-first pages.
  static let producedAt = "f.produced_at"

  static func selection(_ query: FindQuery, _ db: Database) throws -> (String, StatementArguments) {
    var conditions: [String] = []
    var arguments = StatementArguments()
    func add(_ condition: String, _ values: [(any DatabaseValueConvertible)?] = []) {
      conditions.append(condition)
      _ = arguments.append(contentsOf: StatementArguments(values))
    }
    let states = query.states.map(\.rawValue).sorted()
    // Most files are archived, so the index on state narrows nothing for them; yet SQLite,
    // with no statistics (artifacts never runs ANALYZE), takes any equality on an index for
    // a selective one, and sorted every archived file instead of walking the index the order
    // asks for (the 20 newest of 1,000,000: 1.7 s, against 0.013 s). A unary `+` keeps that
    // index out of a list of archived files; the other states are the rare ones it is for.
    let notByStateIndex = query.states.contains(.archived) ? "+" : ""
    add("\(notByStateIndex)f.state IN (\(databaseQuestionMarks(count: states.count)))", states)
    if let pattern = query.pattern {
      let sensitive = query.caseSensitive
      switch pattern {
      case .substring(let text) where !text.isEmpty:
        let search = try IndexSearch(text, db)
        if let search, try Self.scanningIsCheaper(search, query, db) {
          // Every name in the order asked for is checked until the page is full.
          if !sensitive { add("\(NameFolding.containsFunction.name)(f.filename, ?)", [text]) }
        } else if let search {
          add("f.id IN (SELECT rowid FROM container_file_name WHERE container_file_name MATCH ?)", [search.match])
          // The index found names holding some of the pattern's trigrams: check the name.
          if search.isPartial && !sensitive { add("\(NameFolding.containsFunction.name)(f.filename, ?)", [text]) }
        } else {
          add("f.filename LIKE ? ESCAPE '\\'", ["%" + escapeLike(text) + "%"])
        }
        if sensitive { add("instr(f.filename, ?) > 0", [text]) }
      case .glob(let text):
        // Every match contains the glob's longest literal; GLOB below checks the whole name.
        // Unless it is common and a page is asked for in produced order: then walking that
        // order finds the page sooner (`*.csv`, the 20 newest: 0.5 s through the index).
        if let literal = Self.longestLiteral(inGlob: text), let search = try IndexSearch(literal, db),
          try !Self.scanningIsCheaper(search, query, db)
        {
          add("f.id IN (SELECT rowid FROM container_file_name WHERE container_file_name MATCH ?)", [search.match])
        }
        add(sensitive ? "f.filename GLOB ?" : "lower(f.filename) GLOB ?", [sensitive ? text : text.lowercased()])
      case .exact(let text):
        add(sensitive ? "f.filename = ?" : "f.filename = ? COLLATE NOCASE", [text])
      case .substring, .regex:
        break
      }
    }
    if let container = query.containerID { add("f.container_id = ?", [container]) }
    if let response = query.responseID {
      add("f.id IN (SELECT container_file_id FROM citation WHERE response_id = ?)", [response])
    }
    if let model = query.model {
      add(
        "f.id IN (SELECT c.container_file_id FROM citation c JOIN response r ON r.id = c.response_id WHERE r.model = ? OR r.model LIKE ? ESCAPE '\\')",
        [model, escapeLike(model) + "-%"])
    }
    if let since = query.since { add("\(producedAt) >= ?", [since]) }
    if let until = query.until { add("\(producedAt) < ?", [until]) }
    if !query.extensions.isEmpty {
      let clauses = query.extensions.map { _ in "lower(f.filename) LIKE ? ESCAPE '\\'" }
      add("(" + clauses.joined(separator: " OR ") + ")", query.extensions.map { "%." + escapeLike($0.lowercased()) })
    }
    if let mediaType = query.mediaType {
      add("(b.media_type = ? OR b.media_type LIKE ? ESCAPE '\\')", [mediaType, escapeLike(mediaType) + "/%"])
    }
    // Ties are broken by what the file is, never by row ids, so two stores holding the same
    // files (one imported from the other) list them in the same order.
    let tieBreak = "f.filename, f.container_id, f.file_id"
    let order =
      switch query.sort {
      case .name: "f.filename COLLATE NOCASE, \(tieBreak)"
      case .newest: "\(producedAt) DESC, \(tieBreak)"
      // Exactly the newest-first order reversed, ties too, so both walk the one index on
      // produced_at (forwards or backwards) and stop at the limit: with ties in the same
      // direction as newest's, the index did not fit, and the 20 oldest of 1,000,000 files
      // were found by sorting them all (0.43 s against 0.015 s for the 20 newest).
      case .oldest: "\(producedAt), f.filename DESC, f.container_id DESC, f.file_id DESC"
      case .size: "b.size DESC, f.filename COLLATE NOCASE, \(tieBreak)"
      }
    let joiningBlobs = query.detail == .full || query.mediaType != nil || query.sort == .size
    // A page of all archived files, largest first: walked down the index on blob sizes (v009)
    // until the page is full, not every file's blob looked up and sorted (the first 20 of
    // 1,000,000: 0.8-1.1 s, now 0.017 s). Only when nothing else narrows the list (no other
    // SQL condition, and no regular expression, which is checked row by row): a filter few
    // files pass would have the walk go through every blob. CROSS JOIN keeps SQLite from
    // reordering it.
    let blobsFirst =
      query.sort == .size && query.limit != nil && query.states == [.archived] && conditions.count == 1
      && query.pattern == nil
    let sql =
      select(joiningBlobs: joiningBlobs, pathsOnly: query.detail == .paths, blobsFirst: blobsFirst) + " WHERE "
      + conditions.map { "(\($0))" }.joined(separator: " AND ")
      + " ORDER BY " + order
    return (sql, arguments)
  }

  /// True when a page of a common pattern is found sooner by walking an index in the order
  /// asked for (newest or oldest first: `container_file_by_produced_at`) and checking each
  /// name than by reading every match from the trigram index and sorting them all.
  static func scanningIsCheaper(_ search: IndexSearch, _ query: FindQuery, _ db: Database) throws -> Bool {
    guard query.limit != nil, query.sort == .newest || query.sort == .oldest else { return false }
    let files = try db.fetchOneCached(Int64.self, sql: "SELECT max(id) FROM container_file") ?? 0
    return search.rarestFiles * IndexSearch.commonShare > files
  }

  /// The longest run of ordinary characters in a glob: every match contains it.
  static func longestLiteral(inGlob glob: String) -> String? {
    var best = ""
    var current = ""
    var inClass = false
    for character in glob {
      if inClass {
        if character == "]" { inClass = false }
        continue
      }
      switch character {
      case "*", "?":
        if current.count > best.count { best = current }
        current = ""
      case "[":
        if current.count > best.count { best = current }
        current = ""
        inClass = true
      default:
        current.append(character)
      }
    }
    if current.count > best.count { best = current }
    return best.isEmpty ? nil : best
  }

  static func attachCitations(to files: inout [FoundFile], _ db: Database) throws {
    guard !files.isEmpty else { return }
    var positions: [Int64: Int] = [:]
    for (index, file) in files.enumerated() { positions[file.rowID] = index }
    // SQLite limits bound parameters; go in slices.
    for slice in stride(from: 0, to: files.count, by: 500) {
      let ids = files[slice..<min(slice + 500, files.count)].map(\.rowID)
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT c.container_file_id, c.id, c.response_id, r.model, r.created_at, r.previous_response_id, c.item_id,
            c.filename, c.start_index, c.end_index, c.cited_text, l.path, c.line, c.citation_key
          FROM citation c LEFT JOIN response r ON r.id = c.response_id LEFT JOIN log_file l ON l.id = c.log_file_id
          WHERE c.container_file_id IN (\(databaseQuestionMarks(count: ids.count)))
          ORDER BY r.created_at, c.id
          """, arguments: StatementArguments(ids))
      for row in rows {
        guard let index = positions[row[0]] else { continue }
        files[index].citations.append(
          CitationRecord(
            key: row[13], responseID: row[2], model: row[3], createdAt: row[4], previousResponseID: row[5],
            itemID: row[6], filename: row[7], startIndex: row[8], endIndex: row[9], citedText: row[10], log: row[11],
            line: row[12]))
      }
    }
  }

  static func escapeLike(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_")
  }
}

/// The files a find returns from the rows SQL selected, in order: a regular expression is
/// checked here (after SQL narrowed by everything else), and then the offset and the limit
/// apply; without one, SQL applies them. Both catalog engines page through this.
struct FindPage {
  private let matcher: NameMatcher
  private let offset: Int
  private let limit: Int?
  private var skipped = 0
  private var taken = 0

  init(_ query: FindQuery) throws(FindError) {
    matcher =
      try query.pattern.map { (pattern) throws(FindError) in
        try NameMatcher(pattern, caseSensitive: query.caseSensitive)
      } ?? NameMatcher.everything
    offset = max(0, query.offset)
    limit = query.limit.map { max(0, $0) }
  }

  /// ` LIMIT … OFFSET …` for SQL to apply, or nothing when the rows are checked here;
  /// `all` is the engine's word for no limit (SQLite's -1, PostgreSQL's ALL).
  func sqlLimit(all: String) -> String {
    guard !matcher.needsRowCheck, limit != nil || offset > 0 else { return "" }
    return " LIMIT \(limit.map(String.init) ?? all) OFFSET \(offset)"
  }

  private enum Admission { case skip, take, takeLast }

  /// Whether a file named `name` belongs on the page, and whether it is the page's last.
  private mutating func admit(_ name: String) -> Admission {
    guard matcher.needsRowCheck else { return .take }
    guard matcher.matches(name) else { return .skip }
    if skipped < offset {
      skipped += 1
      return .skip
    }
    taken += 1
    return limit.map { taken < $0 } ?? true ? .take : .takeLast
  }

  /// Hands `file` to `body` if it belongs on the page; false once the page is full or `body`
  /// says to stop.
  mutating func hand(_ file: FoundFile, to body: (FoundFile) -> Bool) -> Bool {
    switch admit(file.filename) {
    case .skip: return true
    case .take: return body(file)
    case .takeLast:
      _ = body(file)
      return false
    }
  }
}

/// Checks names against a regular expression (SQLite has none built in).
struct NameMatcher {
  private let regex: NSRegularExpression?
  var needsRowCheck: Bool { regex != nil }

  /// No regular expression: every name matches.
  static let everything = NameMatcher(regex: nil)

  private init(regex: NSRegularExpression?) { self.regex = regex }

  init(_ pattern: FindQuery.Pattern, caseSensitive: Bool) throws(FindError) {
    guard case .regex(let text) = pattern else {
      regex = nil
      return
    }
    do {
      regex = try NSRegularExpression(pattern: text, options: caseSensitive ? [] : [.caseInsensitive])
    } catch {
      throw .invalidRegex(text, "\(error.localizedDescription)")
    }
  }

  func matches(_ name: String) -> Bool {
    guard let regex else { return true }
    return regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
  }
}
