// The download queue shared by many hosts. A claim is a lease on the server's clock: one
// UPDATE that takes a file nobody holds (or whose holder's lease ran out), skipping a row
// another host is claiming at that instant (FOR UPDATE SKIP LOCKED) instead of waiting for it.
// A host killed mid-transfer frees its files when its leases run out.
import ArtifactsCore
import Foundation

extension PostgresCatalog: WorkQueue {
  static let workColumns = "f.id, f.container_id, f.file_id, f.filename, c.deadline_estimate"

  public func pendingWork() throws(CatalogError) -> [WorkItem] {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT \(Self.workColumns)
        FROM container_file f JOIN container c ON c.id = f.container_id
        WHERE f.state IN ('pending', 'failed')
        ORDER BY c.deadline_estimate IS NULL, c.deadline_estimate, f.id
        """)
      return Self.workItems(rows)
    }
  }

  /// A page of the queue, along `container_file_waiting` (the waiting rows' ids).
  public func pendingWork(after: Int64, limit: Int) throws(CatalogError) -> [WorkItem] {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT \(Self.workColumns)
        FROM container_file f JOIN container c ON c.id = f.container_id
        WHERE f.state IN ('pending', 'failed') AND f.id > $1 ORDER BY f.id LIMIT $2
        """, [after, limit], prepared: true)
      return Self.workItems(rows)
    }
  }

  public func pendingCount() throws(CatalogError) -> Int {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        "SELECT count(*) FROM container_file WHERE state IN ('pending', 'failed')", prepared: true)
      return Int(rows.int(0, 0) ?? 0)
    }
  }

  public func pendingWork(among files: Set<ContainerFileRef>) throws(CatalogError) -> [WorkItem] {
    guard !files.isEmpty else { return [] }
    let (containers, ids) = Self.arrays(files)
    return try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT \(Self.workColumns)
        FROM container_file f JOIN container c ON c.id = f.container_id
        WHERE (f.container_id, f.file_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          AND f.state IN ('pending', 'failed')
        ORDER BY c.deadline_estimate IS NULL, c.deadline_estimate, f.id
        """, [containers, ids])
      return Self.workItems(rows)
    }
  }

  public func states(of files: Set<ContainerFileRef>) throws(CatalogError) -> [ContainerFileRef: FileState] {
    guard !files.isEmpty else { return [:] }
    let (containers, ids) = Self.arrays(files)
    return try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT container_id, file_id, state FROM container_file
        WHERE (container_id, file_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        """, [containers, ids])
      var states: [ContainerFileRef: FileState] = [:]
      for row in 0..<rows.count {
        if let container = rows.string(row, 0), let file = rows.string(row, 1),
          let state = rows.string(row, 2).flatMap(FileState.init(rawValue:))
        {
          states[ContainerFileRef(containerID: container, fileID: file)] = state
        }
      }
      return states
    }
  }

  /// The container ids and the file ids of `files`, as two array parameters in step.
  static func arrays(_ files: Set<ContainerFileRef>) -> (String, String) {
    let all = Array(files)
    return (postgresArray(all.map(\.containerID)), postgresArray(all.map(\.fileID)))
  }

  static func workItems(_ rows: PostgresResult) -> [WorkItem] {
    (0..<rows.count).map { row in
      WorkItem(
        rowID: rows.int(row, 0) ?? 0,
        file: ContainerFileRef(containerID: rows.string(row, 1) ?? "", fileID: rows.string(row, 2) ?? ""),
        filename: rows.string(row, 3) ?? "", deadline: rows.string(row, 4).flatMap(CatalogTime.date))
    }
  }

  /// Leases `item` to `lease.owner` for the lease's duration, counted on the server's clock
  /// (hosts' clocks may disagree; the catalog's is the one they share).
  public func claim(_ item: WorkItem, lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws(CatalogError) -> Bool {
    let seconds = lease.expiresAt.timeIntervalSince(lease.now)
    return try read { connection throws(PostgresFailure) in
      let taken = try connection.execute(
        """
        UPDATE container_file SET lease_owner = $1, lease_expires_at = clock_timestamp() + $2 * interval '1 second'
        WHERE id = (
          SELECT id FROM container_file WHERE id = $3 AND state IN ('pending', 'failed')
            AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at <= clock_timestamp())
          FOR UPDATE SKIP LOCKED)
        """, [lease.owner, seconds, item.rowID], prepared: true)
      if taken.changed > 0 { return true }
      // Held by a run this host can see has died: taken from it without waiting for its lease.
      let holder = try connection.execute(
        "SELECT lease_owner FROM container_file WHERE id = $1 AND state IN ('pending', 'failed')", [item.rowID],
        prepared: true)
      guard holder.count == 1, let owner = holder.string(0, 0), owner != lease.owner, !isHeldByLiveOwner(owner)
      else { return false }
      let stolen = try connection.execute(
        """
        UPDATE container_file SET lease_owner = $1, lease_expires_at = clock_timestamp() + $2 * interval '1 second'
        WHERE id = $3 AND lease_owner = $4 AND state IN ('pending', 'failed')
        """, [lease.owner, seconds, item.rowID, owner], prepared: true)
      return stolen.changed > 0
    }
  }

  /// One claim after another: each is one autocommit statement that skips rows other hosts
  /// hold locked, so a batch never waits on them.
  public func claim(_ items: [WorkItem], lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws(CatalogError)
    -> [Bool]
  {
    try items.map { item throws(CatalogError) in try claim(item, lease: lease, isHeldByLiveOwner: isHeldByLiveOwner) }
  }

  public func renew(_ items: [WorkItem], lease: Lease) throws(CatalogError) {
    guard !items.isEmpty else { return }
    let seconds = lease.expiresAt.timeIntervalSince(lease.now)
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        """
        UPDATE container_file SET lease_expires_at = clock_timestamp() + $1 * interval '1 second'
        WHERE id = ANY($2::bigint[]) AND lease_owner = $3
        """, [seconds, postgresArray(items.map(\.rowID)), lease.owner], prepared: true)
    }
  }

  /// The blob rows and the files' new states in one statement (its own transaction), for
  /// every file that finished together.
  public func markArchived(_ archivings: [Archiving], now: Date = Date()) throws(CatalogError) {
    guard !archivings.isEmpty else { return }
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        """
        WITH done AS (
          SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::integer[])
            AS d (id, digest, size, media_type, attempts)),
        stored AS (
          INSERT INTO blob (digest, size, media_type, first_stored_at)
          SELECT DISTINCT ON (digest) digest, size, media_type, $6 FROM done
          ON CONFLICT (digest) DO NOTHING)
        UPDATE container_file f SET state = 'archived', digest = done.digest, archived_at = $6,
          attempts = f.attempts + done.attempts, last_error = NULL, last_error_kind = NULL, lease_owner = NULL,
          lease_expires_at = NULL
        FROM done WHERE f.id = done.id
        """,
        [
          postgresArray(archivings.map(\.item.rowID)), postgresArray(archivings.map(\.digest.hex)),
          postgresArray(archivings.map(\.size)), postgresArray(archivings.map(\.mediaType)),
          postgresArray(archivings.map { Int64($0.attempts) }), CatalogTime.string(now),
        ], prepared: true)
    }
  }

  public func markUnarchived(_ item: WorkItem, state: FileState, reason: UnarchivedReason, attempts: Int)
    throws(CatalogError)
  {
    precondition(state == .lost || state == .failed, "only lost or failed describe an unarchived file")
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        """
        UPDATE container_file SET state = $1, last_error = $2, last_error_kind = $3, attempts = attempts + $4,
          lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $5
        """, [state.rawValue, reason.message, reason.kind.rawValue, attempts, item.rowID], prepared: true)
    }
  }

  public func recordContainerStatus(_ id: String, status: String, deadline: Date?, now: Date = Date())
    throws(CatalogError)
  {
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        """
        INSERT INTO container (id, first_seen_at, deadline_estimate, last_probe_at, status) VALUES ($1, $2, $3, $2, $4)
        ON CONFLICT (id) DO UPDATE SET status = excluded.status, last_probe_at = excluded.last_probe_at,
          deadline_estimate = coalesce(excluded.deadline_estimate, container.deadline_estimate)
        """, [id, CatalogTime.string(now), deadline.map(CatalogTime.string), status], prepared: true)
    }
  }

  public func addUncitedFiles(containerID: String, files: [(id: String, path: String)], now: Date = Date())
    throws(CatalogError) -> [WorkItem]
  {
    try write { connection throws(PostgresFailure) in
      let deadline = try connection.execute("SELECT deadline_estimate FROM container WHERE id = $1", [containerID])
        .string(0, 0).flatMap(CatalogTime.date)
      var added: [WorkItem] = []
      for file in files {
        let name = (file.path as NSString).lastPathComponent
        let reference = ContainerFileRef(containerID: containerID, fileID: file.id)
        let (rowID, isNew) = try insertFile(
          reference, filename: name, source: "uncited", containerPath: file.path, seenAt: CatalogTime.string(now),
          connection)
        if isNew { added.append(WorkItem(rowID: rowID, file: reference, filename: name, deadline: deadline)) }
      }
      return added
    }
  }

  public func knownFileIDs(containerID: String) throws(CatalogError) -> Set<String> {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute("SELECT file_id FROM container_file WHERE container_id = $1", [containerID])
      return Set((0..<rows.count).compactMap { rows.string($0, 0) })
    }
  }
}
