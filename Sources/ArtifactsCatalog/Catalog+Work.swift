// The download queue lives in the catalog: `pending` (and `failed`, which a later run retries)
// rows are the work; a row becomes `archived` only in the same transaction that records its
// blob, which is the commit point of an ingest. Claims are leases with an expiry, so a run that
// dies frees its files by itself.
import ArtifactsCore
import Foundation
import GRDB

extension Catalog: WorkQueue {
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
      return rows.map(Self.workItem)
    }
  }

  /// A page of the queue: each state read from its index (`container_file_by_state` holds
  /// the row id after the state), so a page costs its own rows, not the whole queue.
  public func pendingWork(after: Int64, limit: Int) throws(CatalogError) -> [WorkItem] {
    try read { db in
      var page: [WorkItem] = []
      for state in ["pending", "failed"] {
        page += try Row.fetchAll(
          db.cachedStatement(
            sql: """
              SELECT f.id, f.container_id, f.file_id, f.filename, c.deadline_estimate
              FROM container_file f JOIN container c ON c.id = f.container_id
              WHERE f.state = ? AND f.id > ? ORDER BY f.id LIMIT ?
              """), arguments: [state, after, limit]
        ).map(Self.workItem)
      }
      return Array(page.sorted { $0.rowID < $1.rowID }.prefix(limit))
    }
  }

  public func pendingCount() throws(CatalogError) -> Int {
    try read { db in
      try Int.fetchOne(db, sql: "SELECT count(*) FROM container_file WHERE state IN ('pending', 'failed')") ?? 0
    }
  }

  /// Of `files`, those still to download (`pending` or `failed`): the work a watcher's scan of
  /// a few logs just found, without reading the whole queue.
  public func pendingWork(among files: Set<ContainerFileRef>) throws(CatalogError) -> [WorkItem] {
    try read { db in
      let work = try Self.rows(of: files, db) { pairs in
        """
        SELECT f.id, f.container_id, f.file_id, f.filename, c.deadline_estimate
        FROM container_file f JOIN container c ON c.id = f.container_id
        WHERE (f.container_id, f.file_id) IN (VALUES \(pairs)) AND f.state IN ('pending', 'failed')
        """
      }.map(Self.workItem)
      return work.sorted { ($0.deadline ?? .distantFuture, $0.rowID) < ($1.deadline ?? .distantFuture, $1.rowID) }
    }
  }

  /// The rows `sql` selects for `files`, given the `(?, ?), …` list of pairs to put in its
  /// `IN (VALUES …)`; in slices of 400 pairs, since SQLite limits bound parameters.
  private static func rows(of files: Set<ContainerFileRef>, _ db: Database, sql: (String) -> String) throws -> [Row] {
    var rows: [Row] = []
    let all = Array(files)
    for start in stride(from: 0, to: all.count, by: 400) {
      let slice = all[start..<min(start + 400, all.count)]
      var arguments = StatementArguments()
      for file in slice { _ = arguments.append(contentsOf: [file.containerID, file.fileID]) }
      let pairs = Array(repeating: "(?, ?)", count: slice.count).joined(separator: ", ")
      rows += try Row.fetchAll(db, sql: sql(pairs), arguments: arguments)
    }
    return rows
  }

  private static func workItem(_ row: Row) -> WorkItem {
    WorkItem(
      rowID: row[0], file: ContainerFileRef(containerID: row[1], fileID: row[2]), filename: row[3],
      deadline: (row[4] as String?).flatMap(CatalogTime.date))
  }

  /// The commit point of ingests: each blob row and its file's new state, all in one
  /// transaction (a group commit: one WAL write for the files that finished together).
  public func markArchived(_ archivings: [Archiving], now: Date = Date()) throws(CatalogError) {
    guard !archivings.isEmpty else { return }
    try write { db in
      let time = CatalogTime.string(now)
      for archiving in archivings {
        try db.executeCached(
          sql: """
            INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(digest) DO NOTHING
            """, arguments: [archiving.digest.hex, archiving.size, archiving.mediaType, time])
        try db.executeCached(
          sql: """
            UPDATE container_file SET state = 'archived', digest = ?, archived_at = ?, attempts = attempts + ?,
              last_error = NULL, last_error_kind = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ?
            """, arguments: [archiving.digest.hex, time, archiving.attempts, archiving.item.rowID])
      }
    }
  }

  /// Records that a file could not be archived: `lost` (gone for good) or `failed` (retried
  /// by the next run), with the reason.
  public func markUnarchived(_ item: WorkItem, state: FileState, reason: UnarchivedReason, attempts: Int)
    throws(CatalogError)
  {
    precondition(state == .lost || state == .failed, "only lost or failed describe an unarchived file")
    try write { db in
      try db.executeCached(
        sql: """
          UPDATE container_file SET state = ?, last_error = ?, last_error_kind = ?, attempts = attempts + ?,
            lease_owner = NULL, lease_expires_at = NULL
          WHERE id = ?
          """,
        arguments: [state.rawValue, reason.message, reason.kind.rawValue, attempts, item.rowID])
    }
  }

  /// Leases a file to `lease.owner` so no other run downloads it meanwhile. Fails when the
  /// file is no longer waiting (another run archived it) or another run holds a lease that
  /// has not run out and that `isHeldByLiveOwner` does not disprove (a run on this machine
  /// that has died frees its files at once, without waiting for the lease to lapse).
  public func claim(_ item: WorkItem, lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws(CatalogError)
    -> Bool
  {
    try claim([item], lease: lease, isHeldByLiveOwner: isHeldByLiveOwner)[0]
  }

  /// `claim` for many files in one write transaction.
  public func claim(_ items: [WorkItem], lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws(CatalogError)
    -> [Bool]
  {
    guard !items.isEmpty else { return [] }
    return try write { db in
      try items.map { item in
        guard
          let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT state, lease_owner, lease_expires_at FROM container_file WHERE id = ?"),
            arguments: [item.rowID]),
          ["pending", "failed"].contains(row[0] as String)
        else { return false }
        if let holder = row[1] as String?, holder != lease.owner {
          let expires = (row[2] as String?).flatMap(CatalogTime.date) ?? .distantPast
          if expires > lease.now && isHeldByLiveOwner(holder) { return false }
        }
        try db.executeCached(
          sql: "UPDATE container_file SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
          arguments: [lease.owner, CatalogTime.string(lease.expiresAt), item.rowID])
        return true
      }
    }
  }

  public func renew(_ items: [WorkItem], lease: Lease) throws(CatalogError) {
    guard !items.isEmpty else { return }
    try write { db in
      for item in items {
        try db.executeCached(
          sql: "UPDATE container_file SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?",
          arguments: [CatalogTime.string(lease.expiresAt), item.rowID, lease.owner])
      }
    }
  }

  /// The current state of each of `files` the catalog knows.
  public func states(of files: Set<ContainerFileRef>) throws(CatalogError) -> [ContainerFileRef: FileState] {
    try read { db in
      var states: [ContainerFileRef: FileState] = [:]
      let rows = try Self.rows(of: files, db) { pairs in
        "SELECT container_id, file_id, state FROM container_file WHERE (container_id, file_id) IN (VALUES \(pairs))"
      }
      for row in rows {
        if let state = FileState(rawValue: row[2]) {
          states[ContainerFileRef(containerID: row[0], fileID: row[1])] = state
        }
      }
      return states
    }
  }
}
