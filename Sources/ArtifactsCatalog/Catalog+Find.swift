// Finding archived files by name, backed by the trigram index on names.
import ArtifactsCore
import Foundation
import GRDB

public struct FindQuery: Sendable {
  /// A substring of the name; nil or empty matches every file. Smart case: case-insensitive
  /// unless the pattern holds an upper-case letter.
  public var substring: String?
  public var states: Set<FileState>
  public var limit: Int?

  public init(substring: String? = nil, states: Set<FileState> = [.archived], limit: Int? = nil) {
    self.substring = substring
    self.states = states
    self.limit = limit
  }
}

/// One container file and everything known about where it came from.
public struct FoundFile: Sendable, Codable, Equatable {
  public var rowID: Int64
  public var filename: String
  public var sha256: String?
  public var size: Int64?
  public var mediaType: String?
  public var containerID: String
  public var fileID: String
  public var state: String
  public var source: String
  public var archivedAt: String?
  public var lastError: String?
  public var citations: [CitationSummary]

  /// The most recent citing response (by its created_at), the one `find` shows.
  public var latestCitation: CitationSummary? {
    citations.max { ($0.createdAt ?? .min, $0.citationRowID) < ($1.createdAt ?? .min, $1.citationRowID) }
  }
}

public struct CitationSummary: Sendable, Codable, Equatable {
  public var citationRowID: Int64
  public var responseID: String?
  public var model: String?
  /// Unix seconds.
  public var createdAt: Int64?
  public var filename: String
  public var citedText: String?
  public var log: String?
  public var line: Int?
}

extension Catalog {
  public func find(_ query: FindQuery) throws(CatalogError) -> [FoundFile] {
    try read { db in
      var conditions: [String] = []
      var arguments: StatementArguments = []
      let states = query.states.map(\.rawValue).sorted()
      conditions.append("f.state IN (\(databaseQuestionMarks(count: states.count)))")
      _ = arguments.append(contentsOf: StatementArguments(states))
      if let pattern = query.substring, !pattern.isEmpty {
        if pattern.unicodeScalars.count >= 3 {
          // Trigram index: case-insensitive substring match without a scan.
          conditions.append("f.id IN (SELECT rowid FROM container_file_name WHERE container_file_name MATCH ?)")
          _ = arguments.append(contentsOf: ["\"" + pattern.replacingOccurrences(of: "\"", with: "\"\"") + "\""])
        } else {
          conditions.append("f.filename LIKE ? ESCAPE '\\'")
          _ = arguments.append(contentsOf: ["%" + Self.escapeLike(pattern) + "%"])
        }
        if pattern != pattern.lowercased() {
          conditions.append("instr(f.filename, ?) > 0")
          _ = arguments.append(contentsOf: [pattern])
        }
      }
      var sql = """
        SELECT f.id, f.filename, f.digest, b.size, b.media_type, f.container_id, f.file_id, f.state, f.source,
          f.archived_at, f.last_error
        FROM container_file f LEFT JOIN blob b ON b.digest = f.digest
        WHERE \(conditions.map { "(\($0))" }.joined(separator: " AND "))
        ORDER BY f.filename COLLATE NOCASE, f.id
        """
      if let limit = query.limit { sql += " LIMIT \(max(0, limit))" }
      var files = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        FoundFile(
          rowID: row[0], filename: row[1], sha256: row[2], size: row[3], mediaType: row[4], containerID: row[5],
          fileID: row[6], state: row[7], source: row[8], archivedAt: row[9], lastError: row[10], citations: [])
      }
      try Self.attachCitations(to: &files, db)
      return files
    }
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
          SELECT c.container_file_id, c.id, c.response_id, r.model, r.created_at, c.filename, c.cited_text, l.path, c.line
          FROM citation c LEFT JOIN response r ON r.id = c.response_id LEFT JOIN log_file l ON l.id = c.log_file_id
          WHERE c.container_file_id IN (\(databaseQuestionMarks(count: ids.count)))
          ORDER BY r.created_at, c.id
          """, arguments: StatementArguments(ids))
      for row in rows {
        guard let index = positions[row[0]] else { continue }
        files[index].citations.append(
          CitationSummary(
            citationRowID: row[1], responseID: row[2], model: row[3], createdAt: row[4], filename: row[5],
            citedText: row[6], log: row[7], line: row[8]))
      }
    }
  }

  static func escapeLike(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_")
  }
}
