// The download queue lives in the catalog: `pending` (and `failed`, which a later run retries)
// rows are the work; a row becomes `archived` only in the same transaction that records its
// blob, which is the commit point of an ingest.
import ArtifactsCore
import Foundation
import GRDB

public enum FileState: String, Sendable, Codable, CaseIterable {
  case pending, archived, lost, failed
}

/// One file to download, in the order it should be tried.
public struct WorkItem: Sendable, Hashable {
  public var rowID: Int64
  public var file: ContainerFileRef
  public var filename: String
  /// When the container may be gone, if any response (or a probe) dates it.
  public var deadline: Date?

  public init(rowID: Int64, file: ContainerFileRef, filename: String, deadline: Date?) {
    self.rowID = rowID
    self.file = file
    self.filename = filename
    self.deadline = deadline
  }
}

extension Catalog {
  /// Files still to download, earliest container deadline first. `failed` files are tried
  /// again on every run; `lost` ones never (the server said they are gone).
  public func pendingWork() throws(CatalogError) -> [WorkItem] {
    try read { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT f.id, f.container_id, f.file_id, f.filename, c.deadline_estimate
          FROM container_file f JOIN container c ON c.id = f.container_id
          WHERE f.state IN ('pending', 'failed')
          ORDER BY c.deadline_estimate IS NULL, c.deadline_estimate, f.id
          """)
      return rows.map { row in
        WorkItem(
          rowID: row[0], file: ContainerFileRef(containerID: row[1], fileID: row[2]), filename: row[3],
          deadline: (row[4] as String?).flatMap {
            try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
          })
      }
    }
  }

  /// The commit point of an ingest: the blob row and the file's new state in one transaction.
  public func markArchived(
    _ item: WorkItem, digest: Digest, size: Int64, mediaType: String, attempts: Int, now: Date = Date()
  ) throws(CatalogError) {
    try write { db in
      let time = CatalogTime.string(now)
      try db.executeCached(
        sql: """
          INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES (?, ?, ?, ?)
          ON CONFLICT(digest) DO NOTHING
          """, arguments: [digest.hex, size, mediaType, time])
      try db.executeCached(
        sql: """
          UPDATE container_file SET state = 'archived', digest = ?, archived_at = ?, attempts = attempts + ?,
            last_error = NULL, lease_owner = NULL
          WHERE id = ?
          """, arguments: [digest.hex, time, attempts, item.rowID])
    }
  }

  /// Records that a file could not be archived: `lost` (gone for good) or `failed` (retried
  /// by the next run), with the reason.
  public func markUnarchived(_ item: WorkItem, state: FileState, reason: String, attempts: Int) throws(CatalogError) {
    precondition(state == .lost || state == .failed, "only lost or failed describe an unarchived file")
    try write { db in
      try db.executeCached(
        sql:
          "UPDATE container_file SET state = ?, last_error = ?, attempts = attempts + ?, lease_owner = NULL WHERE id = ?",
        arguments: [state.rawValue, reason, attempts, item.rowID])
    }
  }

  /// Claims a file for the run `owner` so no other run downloads it meanwhile. Fails when the
  /// file is no longer waiting (another run archived it) or another run that is still alive
  /// holds it.
  public func claim(_ item: WorkItem, owner: String, isAlive: (String) -> Bool) throws(CatalogError) -> Bool {
    try write { db in
      guard
        let row = try Row.fetchOne(
          db.cachedStatement(sql: "SELECT state, lease_owner FROM container_file WHERE id = ?"), arguments: [item.rowID]
        ),
        ["pending", "failed"].contains(row[0] as String)
      else { return false }
      if let holder = row[1] as String?, holder != owner, isAlive(holder) { return false }
      try db.executeCached(
        sql: "UPDATE container_file SET lease_owner = ? WHERE id = ?", arguments: [owner, item.rowID])
      return true
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
}

extension Catalog {
  /// The current state of each of `files` the catalog knows.
  public func states(of files: Set<ContainerFileRef>) throws(CatalogError) -> [ContainerFileRef: FileState] {
    try read { db in
      var states: [ContainerFileRef: FileState] = [:]
      let all = Array(files)
      // SQLite limits bound parameters; go in slices of 400 pairs.
      for start in stride(from: 0, to: all.count, by: 400) {
        let slice = all[start..<min(start + 400, all.count)]
        var arguments = StatementArguments()
        for file in slice { _ = arguments.append(contentsOf: [file.containerID, file.fileID]) }
        let pairs = Array(repeating: "(?, ?)", count: slice.count).joined(separator: ", ")
        let rows = try Row.fetchAll(
          db,
          sql:
            "SELECT container_id, file_id, state FROM container_file WHERE (container_id, file_id) IN (VALUES \(pairs))",
          arguments: arguments)
        for row in rows {
          if let state = FileState(rawValue: row[2]) {
            states[ContainerFileRef(containerID: row[0], fileID: row[1])] = state
          }
        }
      }
      return states
    }
  }
}
