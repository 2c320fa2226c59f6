// Selecting files with exactly the rules of the SQLite catalog (Catalog+Find.swift), written
// for PostgreSQL: case-insensitive substrings through the trigram index (pg_trgm) on names
// folded by artifacts itself, globs as anchored regular expressions, SQLite's NOCASE as the
// ASCII fold `artifacts_ascii_lower`, ties broken by bytes (COLLATE "C"), regular expressions
// checked here with the same engine as on SQLite.
import ArtifactsCore
import Foundation

extension PostgresCatalog: ArchiveIndex {
  /// As the SQLite catalog's: `pathsOnly` ends the columns at the state, and the same fields
  /// are left empty (fewer bytes from the server for each of tens of thousands of paths).
  static func select(joiningBlobs: Bool, pathsOnly: Bool = false) -> String {
    """
    SELECT f.id, f.filename, f.digest, \(joiningBlobs ? "b.size, b.media_type" : "NULL, NULL"), f.container_id,
      f.file_id, f.state\(pathsOnly ? "" : ", f.source, f.first_seen_at, f.archived_at, f.last_error, f.attempts")
    FROM container_file f\(joiningBlobs ? " LEFT JOIN blob b ON b.digest = f.digest" : "")
    """
  }

  static let baseSelect = select(joiningBlobs: true)

  static func foundFiles(_ rows: PostgresResult) -> [FoundFile] {
    (0..<rows.count).map { foundFile(rows, $0) }
  }

  static func foundFile(_ rows: PostgresResult, _ row: Int) -> FoundFile {
    let full = rows.columns > 8
    return FoundFile(
      rowID: rows.int(row, 0) ?? 0, filename: rows.string(row, 1) ?? "",
      digest: rows.string(row, 2).flatMap(Digest.init(hex:)), size: rows.int(row, 3), mediaType: rows.string(row, 4),
      containerID: rows.string(row, 5) ?? "", fileID: rows.string(row, 6) ?? "",
      state: rows.string(row, 7).flatMap(FileState.init(rawValue:)) ?? .pending,
      source: full ? rows.string(row, 8) ?? "" : "", firstSeenAt: full ? rows.string(row, 9) ?? "" : "",
      archivedAt: full ? rows.string(row, 10) : nil, lastError: full ? rows.string(row, 11) : nil,
      attempts: full ? Int(rows.int(row, 12) ?? 0) : 0)
  }

  public func find(_ query: FindQuery) throws(CatalogError) -> [FoundFile] {
    let (empty, sql, parameters) = try page(query)
    return try read { connection throws(PostgresFailure) in
      // A fresh page each time: the read runs again after a lost connection.
      var files: [FoundFile] = []
      let rows = try connection.execute(sql, parameters)
      Self.hand(empty, rows) { file in
        files.append(file)
        return true
      }
      if query.detail == .full { try Self.attachCitations(to: &files, connection) }
      return files
    }
  }

  /// With `.paths` detail, the rows the server sent are handed over one at a time, never made
  /// into a list. They arrive whole, so a read run again after a lost connection has handed
  /// nothing over yet.
  public func forEachFound(_ query: FindQuery, _ body: (FoundFile) -> Bool) throws {
    guard query.detail == .paths else { return try forEach(inListOf: query, body) }
    let (empty, sql, parameters) = try page(query)
    let rows = try read { connection throws(PostgresFailure) in try connection.execute(sql, parameters) }
    Self.hand(empty, rows, to: body)
  }

  /// The page `query` asks for, with nothing on it yet, and the statement that reads it.
  private func page(_ query: FindQuery) throws(CatalogError) -> (FindPage, String, [(any PostgresParameter)?]) {
    let empty: FindPage
    do { empty = try FindPage(query) } catch {
      throw CatalogError(.queryFailed, path: location, detail: error.description)
    }
    var (sql, parameters) = Self.selection(query)
    sql += empty.sqlLimit(all: "ALL")
    return (empty, sql, parameters)
  }

  /// The files of a page among `rows`, handed to `body` in order.
  private static func hand(_ empty: FindPage, _ rows: PostgresResult, to body: (FoundFile) -> Bool) {
    var page = empty
    var row = 0
    while row < rows.count, page.hand(foundFile(rows, row), to: body) { row += 1 }
  }

  public func lookup(_ id: String) throws(CatalogError) -> [FoundFile] {
    try read { connection throws(PostgresFailure) in
      var files = Self.foundFiles(
        try connection.execute(Self.baseSelect + " WHERE f.file_id = $1 ORDER BY f.id", [id]))
      if files.isEmpty, id.count >= 4, Digest.isHexPrefix(id) {
        files = Self.foundFiles(
          try connection.execute(
            Self.baseSelect + " WHERE f.digest >= $1 AND f.digest < $2 ORDER BY f.id",
            [id.lowercased(), id.lowercased() + "g"]))
      }
      if files.isEmpty {
        files = Self.foundFiles(
          try connection.execute(Self.baseSelect + " WHERE f.filename = $1 ORDER BY f.id", [id]))
      }
      try Self.attachCitations(to: &files, connection)
      return files
    }
  }

  public func files(withDigests digests: Set<Digest>) throws(CatalogError) -> [FoundFile] {
    guard !digests.isEmpty else { return [] }
    return try read { connection throws(PostgresFailure) in
      var files = Self.foundFiles(
        try connection.execute(
          Self.baseSelect + " WHERE f.digest = ANY($1::text[]) ORDER BY f.filename, f.id",
          [postgresArray(digests.map(\.hex).sorted())]))
      try Self.attachCitations(to: &files, connection)
      return files
    }
  }

  public func count(in states: Set<FileState>) throws(CatalogError) -> Int {
    guard !states.isEmpty else { return 0 }
    return try read { connection throws(PostgresFailure) in
      Int(
        try connection.execute(
          "SELECT count(*) FROM container_file WHERE state = ANY($1::text[])", [postgresArray(states.map(\.rawValue))]
        ).int(0, 0) ?? 0)
    }
  }

  /// The statement `find` runs, with its parameters ($1, $2, … in order).
  static func selection(_ query: FindQuery) -> (String, [(any PostgresParameter)?]) {
    var conditions: [String] = []
    var parameters: [(any PostgresParameter)?] = []
    func bind(_ value: (any PostgresParameter)?) -> String {
      parameters.append(value)
      return "$\(parameters.count)"
    }
    let states = query.states.map(\.rawValue).sorted()
    conditions.append("f.state IN (\(states.map { bind($0) }.joined(separator: ", ")))")
    if let pattern = query.pattern {
      let sensitive = query.caseSensitive
      switch pattern {
      case .substring(let text) where !text.isEmpty:
        if text.unicodeScalars.count >= 3 {
          // As the SQLite trigram index reads it: every character folded.
          let folded = "%" + Catalog.escapeLike(NameFolding.foldedString(text)) + "%"
          conditions.append("f.name_folded LIKE \(bind(folded))")
        } else {
          // As SQLite's LIKE reads it: ASCII letters folded, nothing else.
          let lowered = "%" + Catalog.escapeLike(asciiLowercased(text)) + "%"
          conditions.append("artifacts_ascii_lower(f.filename) LIKE \(bind(lowered))")
        }
        if sensitive { conditions.append("strpos(f.filename, \(bind(text))) > 0") }
      case .glob(let text):
        // Every match contains the glob's longest literal, which the trigram index can find.
        if let literal = Catalog.longestLiteral(inGlob: text), literal.unicodeScalars.count >= 3 {
          let folded = "%" + Catalog.escapeLike(NameFolding.foldedString(literal)) + "%"
          conditions.append("f.name_folded LIKE \(bind(folded))")
        }
        if let expression = GlobExpression.regex(sensitive ? text : asciiLowercased(text)) {
          let name = sensitive ? "f.filename" : "artifacts_ascii_lower(f.filename)"
          conditions.append("\(name) ~ \(bind(expression))")
        } else {
          conditions.append("false")  // an unclosed `[`: SQLite's GLOB matches nothing
        }
      case .exact(let text):
        if sensitive {
          conditions.append("f.filename = \(bind(text))")
        } else {
          conditions.append("artifacts_ascii_lower(f.filename) = \(bind(asciiLowercased(text)))")
        }
      case .substring, .regex:
        break
      }
    }
    if let container = query.containerID { conditions.append("f.container_id = \(bind(container))") }
    if let response = query.responseID {
      conditions.append("f.id IN (SELECT container_file_id FROM citation WHERE response_id = \(bind(response)))")
    }
    if let model = query.model {
      conditions.append(
        "f.id IN (SELECT c.container_file_id FROM citation c JOIN response r ON r.id = c.response_id WHERE r.model = \(bind(model)) OR r.model LIKE \(bind(Catalog.escapeLike(model) + "-%")))"
      )
    }
    if let since = query.since { conditions.append("f.produced_at >= \(bind(since))") }
    if let until = query.until { conditions.append("f.produced_at < \(bind(until))") }
    if !query.extensions.isEmpty {
      let clauses = query.extensions.map {
        "artifacts_ascii_lower(f.filename) LIKE \(bind("%." + Catalog.escapeLike($0.lowercased())))"
      }
      conditions.append("(" + clauses.joined(separator: " OR ") + ")")
    }
    if let mediaType = query.mediaType {
      conditions.append(
        "(b.media_type = \(bind(mediaType)) OR b.media_type LIKE \(bind(Catalog.escapeLike(mediaType) + "/%")))")
    }
    let tieBreak = "f.filename, f.container_id, f.file_id"
    let order =
      switch query.sort {
      case .name: "artifacts_ascii_lower(f.filename), \(tieBreak)"
      case .newest: "f.produced_at DESC, \(tieBreak)"
      case .oldest: "f.produced_at, f.filename DESC, f.container_id DESC, f.file_id DESC"  // newest reversed
      case .size: "b.size DESC NULLS LAST, artifacts_ascii_lower(f.filename), \(tieBreak)"
      }
    let joiningBlobs = query.detail == .full || query.mediaType != nil || query.sort == .size
    let sql =
      select(joiningBlobs: joiningBlobs, pathsOnly: query.detail == .paths) + " WHERE "
      + conditions.map { "(\($0))" }.joined(separator: " AND ")
      + " ORDER BY " + order
    return (sql, parameters)
  }

  /// SQLite's `lower()`: the 26 ASCII capitals, nothing else.
  static func asciiLowercased(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { $0.value >= 0x41 && $0.value <= 0x5A ? Unicode.Scalar($0.value + 0x20)! : $0 }))
  }

  static func attachCitations(to files: inout [FoundFile], _ connection: PostgresConnection) throws(PostgresFailure) {
    guard !files.isEmpty else { return }
    var positions: [Int64: Int] = [:]
    for (index, file) in files.enumerated() { positions[file.rowID] = index }
    let rows = try connection.execute(
      """
      SELECT c.container_file_id, c.id, c.response_id, r.model, r.created_at, r.previous_response_id, c.item_id,
        c.filename, c.start_index, c.end_index, c.cited_text, l.path, c.line, c.citation_key
      FROM citation c LEFT JOIN response r ON r.id = c.response_id LEFT JOIN log_file l ON l.id = c.log_file_id
      WHERE c.container_file_id = ANY($1::bigint[])
      ORDER BY r.created_at NULLS FIRST, c.id
      """, [postgresArray(files.map(\.rowID))])
    for row in 0..<rows.count {
      guard let file = rows.int(row, 0), let index = positions[file] else { continue }
      files[index].citations.append(
        CitationRecord(
          key: rows.string(row, 13) ?? "", responseID: rows.string(row, 2), model: rows.string(row, 3),
          createdAt: rows.int(row, 4), previousResponseID: rows.string(row, 5), itemID: rows.string(row, 6),
          filename: rows.string(row, 7) ?? "", startIndex: Int(rows.int(row, 8) ?? 0),
          endIndex: Int(rows.int(row, 9) ?? 0), citedText: rows.string(row, 10), log: rows.string(row, 11),
          line: rows.int(row, 12).map(Int.init)))
    }
  }
}

/// SQLite's GLOB as a PostgreSQL regular expression (ARE), anchored at both ends: `*` any run,
/// `?` one character, `[…]` a set (`^` first negates, `]` first is itself), everything else
/// itself.
enum GlobExpression {
  /// nil for a `[` that is never closed, which SQLite's GLOB never matches.
  static func regex(_ glob: String) -> String? {
    var expression = "^"
    let characters = Array(glob)
    var index = 0
    while index < characters.count {
      let character = characters[index]
      switch character {
      case "*": expression += ".*"
      case "?": expression += "."
      case "[":
        var member = index + 1
        var set = "["
        if member < characters.count, characters[member] == "^" {
          set += "^"
          member += 1
        }
        if member < characters.count, characters[member] == "]" {
          set += "\\]"
          member += 1
        }
        while member < characters.count, characters[member] != "]" {
          let inside = characters[member]
          // In an ARE `\` escapes inside a set too; `[` could start `[:class:]`.
          set += inside == "\\" || inside == "[" ? "\\" + String(inside) : String(inside)
          member += 1
        }
        guard member < characters.count else { return nil }
        expression += set + "]"
        index = member
      default:
        expression += "\\^$.|?*+()[]{}".contains(character) ? "\\" + String(character) : String(character)
      }
      index += 1
    }
    return expression + "$"
  }
}
