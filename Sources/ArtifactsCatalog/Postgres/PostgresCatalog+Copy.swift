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

  /// One table to copy: its columns as SQLite has them, and the PostgreSQL type of each.
  private struct CopiedTable {
    var name: String
    var columns: [(name: String, type: String)]
    /// SQLite's SELECT list, in `columns`' order (an expression where the two differ).
    var select: [String]
  }

  private static let copiedTables: [CopiedTable] = [
    CopiedTable(
      name: "blob",
      columns: [
        ("digest", "text"), ("size", "bigint"), ("media_type", "text"), ("first_stored_at", "text"),
        ("last_verified_at", "text"),
      ],
      select: ["digest", "size", "media_type", "first_stored_at", "last_verified_at"]),
    CopiedTable(
      name: "container",
      columns: [
        ("id", "text"), ("first_seen_at", "text"), ("deadline_estimate", "text"), ("last_probe_at", "text"),
        ("status", "text"),
      ],
      select: ["id", "first_seen_at", "deadline_estimate", "last_probe_at", "status"]),
    CopiedTable(
      name: "log_file",
      columns: [
        ("id", "bigint"), ("host", "text"), ("path", "text"), ("device", "bigint"), ("inode", "bigint"),
        ("size", "bigint"), ("mtime_ns", "bigint"), ("head_fingerprint", "text"), ("bytes_consumed", "bigint"),
        ("lines_consumed", "bigint"), ("format", "text"), ("last_scanned_at", "text"), ("stream_response", "text"),
        ("compressed", "boolean"),
      ],
      select: [
        "id", "NULL", "path", "device", "inode", "size", "mtime_ns", "head_fingerprint", "bytes_consumed",
        "lines_consumed", "format", "last_scanned_at", "stream_response", "compressed != 0",
      ]),
    CopiedTable(
      name: "response",
      columns: [
        ("id", "text"), ("created_at", "bigint"), ("model", "text"), ("status", "text"),
        ("previous_response_id", "text"), ("log_file_id", "bigint"), ("line", "integer"),
      ],
      select: ["id", "created_at", "model", "status", "previous_response_id", "log_file_id", "line"]),
    CopiedTable(
      name: "container_file",
      columns: [
        ("id", "bigint"), ("container_id", "text"), ("file_id", "text"), ("filename", "text"),
        ("name_folded", "text"), ("container_path", "text"), ("source", "text"), ("state", "text"),
        ("digest", "text"), ("attempts", "integer"), ("last_error", "text"), ("last_error_kind", "text"),
        ("first_seen_at", "text"), ("archived_at", "text"), ("produced_at", "bigint"),
      ],
      select: [
        "id", "container_id", "file_id", "filename", "filename", "container_path", "source", "state", "digest",
        "attempts", "last_error", "last_error_kind", "first_seen_at", "archived_at", "produced_at",
      ]),
    CopiedTable(
      name: "citation",
      columns: [
        ("id", "bigint"), ("citation_key", "text"), ("container_file_id", "bigint"), ("response_id", "text"),
        ("item_id", "text"), ("output_index", "integer"), ("content_index", "integer"),
        ("annotation_index", "integer"), ("filename", "text"), ("start_index", "integer"), ("end_index", "integer"),
        ("cited_text", "text"), ("log_file_id", "bigint"), ("line", "integer"),
      ],
      select: [
        "id", "citation_key", "container_file_id", "response_id", "item_id", "output_index", "content_index",
        "annotation_index", "filename", "start_index", "end_index", "cited_text", "log_file_id", "line",
      ]),
    CopiedTable(
      name: "container_sighting",
      columns: [
        ("id", "bigint"), ("sighting_key", "text"), ("container_id", "text"), ("call_id", "text"),
        ("response_id", "text"), ("log_file_id", "bigint"), ("line", "integer"),
      ],
      select: ["id", "sighting_key", "container_id", "call_id", "response_id", "log_file_id", "line"]),
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
        let copied = try copy(table, from: source, into: connection)
        switch table.name {
        case "blob": counts.blobs = copied
        case "container": counts.containers = copied
        case "log_file": counts.logs = copied
        case "response": counts.responses = copied
        case "container_file": counts.files = copied
        case "citation": counts.citations = copied
        default: counts.sightings = copied
        }
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
        let rows = try Row.fetchCursor(db, sql: "SELECT \(table.select.joined(separator: ", ")) FROM \(table.name)")
        while let row = try rows.next() {
          for index in table.columns.indices {
            let name = table.columns[index].name
            if table.name == "log_file" && name == "host" {
              columns[index].append(host)
            } else if table.name == "container_file" && name == "name_folded" {
              columns[index].append(NameFolding.foldedString(row[index] as String? ?? ""))
            } else {
              columns[index].append(Self.text(row[index] as DatabaseValue))
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
