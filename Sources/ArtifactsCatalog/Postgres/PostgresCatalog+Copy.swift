// `migrate-catalog`: a local SQLite catalog copied whole into an empty PostgreSQL one — every
// file in every state, citations, responses, containers and their deadlines, and the scan
// positions (which become this host's) — in one transaction, so a failure leaves nothing.
import ArtifactsCore
import Foundation
import GRDB

/// What a copy moved, table by table.
public struct CatalogCopyCounts: Sendable, Equatable {
  public var files = 0
  public var citations = 0
  public var responses = 0
  public var containers = 0
  public var blobs = 0
  public var logs = 0
  public var sightings = 0
}

extension PostgresCatalog {
  /// How many rows go in one INSERT (each column sent as one array).
  static let copyBatch = 2_000

  /// Where a copied column's values come from.
  private enum Source: Sendable {
    /// SQLite's value of this expression (usually the column of the same name).
    case sqlite(String)
    /// This host's name (the scan positions become its own).
    case thisHost
    /// The folded form of SQLite's `filename` (the trigram index's column).
    case foldedName
  }

  /// One column to copy, with its PostgreSQL type.
  private struct Column: Sendable {
    var name: String
    var type: String
    var source: Source

    init(_ name: String, _ type: String, _ source: Source? = nil) {
      self.name = name
      self.type = type
      self.source = source ?? .sqlite(name)
    }

    /// What SQLite is asked for.
    var selected: String {
      switch source {
      case .sqlite(let expression): expression
      case .thisHost: "NULL"
      case .foldedName: "filename"
      }
    }
  }

  private struct CopiedTable: Sendable {
    var name: String
    var columns: [Column]
    var count: WritableKeyPath<CatalogCopyCounts, Int> & Sendable
  }

  private static let copiedTables: [CopiedTable] = [
    CopiedTable(
      name: "blob",
      columns: [
        Column("digest", "text"), Column("size", "bigint"), Column("media_type", "text"),
        Column("first_stored_at", "text"), Column("last_verified_at", "text"),
      ], count: \.blobs),
    CopiedTable(
      name: "container",
      columns: [
        Column("id", "text"), Column("first_seen_at", "text"), Column("deadline_estimate", "text"),
        Column("last_probe_at", "text"), Column("status", "text"),
      ], count: \.containers),
    CopiedTable(
      name: "log_file",
      columns: [
        Column("id", "bigint"), Column("host", "text", .thisHost), Column("path", "text"), Column("device", "bigint"),
        Column("inode", "bigint"), Column("size", "bigint"), Column("mtime_ns", "bigint"),
        Column("head_fingerprint", "text"), Column("bytes_consumed", "bigint"), Column("lines_consumed", "bigint"),
        Column("format", "text"), Column("last_scanned_at", "text"), Column("stream_response", "text"),
        Column("compressed", "boolean", .sqlite("compressed != 0")),
      ], count: \.logs),
    CopiedTable(
      name: "response",
      columns: [
        Column("id", "text"), Column("created_at", "bigint"), Column("model", "text"), Column("status", "text"),
        Column("previous_response_id", "text"), Column("log_file_id", "bigint"), Column("line", "integer"),
      ], count: \.responses),
    CopiedTable(
      name: "container_file",
      columns: [
        Column("id", "bigint"), Column("container_id", "text"), Column("file_id", "text"), Column("filename", "text"),
        Column("name_folded", "text", .foldedName), Column("container_path", "text"), Column("source", "text"),
        Column("state", "text"), Column("digest", "text"), Column("attempts", "integer"), Column("last_error", "text"),
        Column("last_error_kind", "text"), Column("first_seen_at", "text"), Column("archived_at", "text"),
        Column("produced_at", "bigint"),
      ], count: \.files),
    CopiedTable(
      name: "citation",
      columns: [
        Column("id", "bigint"), Column("citation_key", "text"), Column("container_file_id", "bigint"),
        Column("response_id", "text"), Column("item_id", "text"), Column("output_index", "integer"),
        Column("content_index", "integer"), Column("annotation_index", "integer"), Column("filename", "text"),
        Column("start_index", "integer"), Column("end_index", "integer"), Column("cited_text", "text"),
        Column("log_file_id", "bigint"), Column("line", "integer"),
      ], count: \.citations),
    CopiedTable(
      name: "container_sighting",
      columns: [
        Column("id", "bigint"), Column("sighting_key", "text"), Column("container_id", "text"),
        Column("call_id", "text"), Column("response_id", "text"), Column("log_file_id", "bigint"),
        Column("line", "integer"),
      ], count: \.sightings),
  ]

  /// Copies everything `source` holds into this catalog, which must hold no files yet.
  /// Leases are not copied: nothing is being downloaded while the copy runs.
  public func copy(from source: Catalog) throws(CatalogError) -> CatalogCopyCounts {
    let existing = try read { connection throws(PostgresFailure) in
      try connection.execute("SELECT count(*) FROM container_file").int(0, 0) ?? 0
    }
    guard existing == 0 else {
      throw CatalogError(
        .queryFailed, path: location,
        detail:
          "it already holds \(existing) files; migrate-catalog copies into an empty catalog (import an export to merge)"
      )
    }
    // Read in one SQLite transaction (a consistent snapshot), written in one PostgreSQL one.
    var counts = CatalogCopyCounts()
    try write { connection throws(PostgresFailure) in
      counts = CatalogCopyCounts()
      // produced_at arrives with the rows: the triggers that keep it would only recompute it,
      // one UPDATE per file and per citation. They are off for this transaction only.
      let triggered = ["container_file", "citation", "response"]
      for table in triggered { try connection.executeScript("ALTER TABLE \(table) DISABLE TRIGGER USER") }
      for table in Self.copiedTables {
        counts[keyPath: table.count] = try copy(table, from: source, into: connection)
      }
      for table in triggered { try connection.executeScript("ALTER TABLE \(table) ENABLE TRIGGER USER") }
      // Rows came with their ids: the identity columns go on from the highest.
      for table in ["log_file", "container_file", "citation", "container_sighting"] {
        try connection.execute(
          "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), greatest((SELECT max(id) FROM \(table)), 1))")
      }
    }
    return counts
  }

  private func copy(_ table: CopiedTable, from source: Catalog, into connection: PostgresConnection)
    throws(PostgresFailure) -> Int
  {
    let arrays = table.columns.enumerated().map { "$\($0.offset + 1)::\($0.element.type)[]" }.joined(separator: ", ")
    let insert =
      "INSERT INTO \(table.name) (\(table.columns.map(\.name).joined(separator: ", "))) SELECT * FROM unnest(\(arrays))"
    var columns = [[String?]](repeating: [], count: table.columns.count)
    var copied = 0
    func flush() throws(PostgresFailure) {
      guard !columns[0].isEmpty else { return }
      try connection.execute(insert, columns.map { postgresArray($0) })
      copied += columns[0].count
      columns = [[String?]](repeating: [], count: table.columns.count)
    }
    let host = self.host
    let reading: Result<Void, PostgresFailure>
    do throws(CatalogError) {
      reading = try source.read { db -> Result<Void, PostgresFailure> in
        let selected = table.columns.map(\.selected).joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: "SELECT \(selected) FROM \(table.name)")
        while let row = try rows.next() {
          for (index, column) in table.columns.enumerated() {
            switch column.source {
            case .sqlite: columns[index].append(Self.text(row[index] as DatabaseValue))
            case .thisHost: columns[index].append(host)
            case .foldedName: columns[index].append(NameFolding.foldedString(row[index] as String? ?? ""))
            }
          }
          if columns[0].count >= Self.copyBatch {
            do throws(PostgresFailure) { try flush() } catch { return .failure(error) }
          }
        }
        return .success(())
      }
    } catch {
      throw PostgresFailure(message: "reading \(source.path): \(error.detail)", connectionLost: false)
    }
    try reading.get()
    try flush()
    return copied
  }

  /// SQLite's value as PostgreSQL's text form (booleans arrive as SQLite's 0/1 comparison).
  private static func text(_ value: DatabaseValue) -> String? {
    switch value.storage {
    case .null: nil
    case .int64(let number): String(number)
    case .double(let number): String(number)
    case .string(let string): string
    case .blob(let data): String(decoding: data, as: UTF8.self)
    }
  }
}
