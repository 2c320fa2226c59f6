// Adding files that arrive with their provenance (an export from another store) rather than
// from logs: their blobs are already stored, so they are archived at once.
import ArtifactsCore
import Foundation
import GRDB

extension Catalog {
  /// Records imported files in one transaction; returns how many were new to this catalog.
  /// A file the catalog already has archived keeps its state; one it had pending, lost or
  /// failed becomes archived with the imported bytes.
  public func importFiles(_ files: [ImportedFile], now: Date = Date()) throws(CatalogError) -> Int {
    try write { db in
      let time = CatalogTime.string(now)
      var added = 0
      let filesBefore = try Self.lastFileRowID(db)
      for file in files {
        try db.execute(
          sql: "INSERT INTO container (id, first_seen_at) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
          arguments: [file.containerID, time])
        try db.execute(
          sql: """
            INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(digest) DO NOTHING
            """, arguments: [file.digest.hex, file.size, file.mediaType, time])
        let before = db.totalChangesCount
        try db.execute(
          sql: """
            INSERT INTO container_file (container_id, file_id, filename, source, state, digest, first_seen_at, archived_at)
            VALUES (?, ?, ?, ?, 'archived', ?, ?, ?) ON CONFLICT(container_id, file_id) DO NOTHING
            """,
          arguments: [
            file.containerID, file.fileID, file.filename, file.source, file.digest.hex, time, file.archivedAt ?? time,
          ])
        if db.totalChangesCount > before {
          added += 1
        } else {
          try db.execute(
            sql: """
              UPDATE container_file SET state = 'archived', digest = ?, archived_at = ?, last_error = NULL
              WHERE container_id = ? AND file_id = ? AND state != 'archived'
              """, arguments: [file.digest.hex, file.archivedAt ?? time, file.containerID, file.fileID])
        }
        let fileRowID = try Int64.fetchOne(
          db, sql: "SELECT id FROM container_file WHERE container_id = ? AND file_id = ?",
          arguments: [file.containerID, file.fileID])
        for citation in file.citations {
          var logID: Int64?
          if let log = citation.log {
            try db.execute(
              sql: "INSERT INTO log_file (path, format) VALUES (?, 'imported') ON CONFLICT(path) DO NOTHING",
              arguments: [log])
            logID = try Int64.fetchOne(db, sql: "SELECT id FROM log_file WHERE path = ?", arguments: [log])
          }
          if let response = citation.response {
            try db.execute(
              sql: """
                INSERT INTO response (id, created_at, model, previous_response_id, log_file_id, line)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """,
              arguments: [
                response.id, response.createdAt, response.model, response.previousResponseID, logID, citation.line,
              ])
          }
          try db.execute(
            sql: """
              INSERT INTO citation (citation_key, container_file_id, response_id, item_id, filename, start_index,
                end_index, cited_text, log_file_id, line)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(citation_key) DO NOTHING
              """,
            arguments: [
              citation.key, fileRowID, citation.response?.id, citation.itemID, citation.filename, citation.startIndex,
              citation.endIndex, citation.citedText, logID, citation.line,
            ])
        }
      }
      try Self.countNameTrigrams(ofFilesAfter: filesBefore, db)
      return added
    }
  }
}
