// What the API said about containers, and files found by listing them.
import ArtifactsCore
import Foundation
import GRDB

extension Catalog {
  /// Records a probe: the container's status and its deadline on the local clock.
  public func recordContainerStatus(_ id: String, status: String, deadline: Date?, now: Date = Date())
    throws(CatalogError)
  {
    try write { db in
      try db.executeCached(
        sql: """
          INSERT INTO container (id, first_seen_at, deadline_estimate, last_probe_at, status) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET status = excluded.status, last_probe_at = excluded.last_probe_at,
            deadline_estimate = coalesce(excluded.deadline_estimate, container.deadline_estimate)
          """,
        arguments: [
          id, CatalogTime.string(now), deadline.map(CatalogTime.string), CatalogTime.string(now), status,
        ])
    }
  }

  /// Adds files found by listing a container that no citation names (`source = 'uncited'`);
  /// returns the new work. Files the catalog already has are left as they are.
  public func addUncitedFiles(
    containerID: String, files: [(id: String, path: String)], now: Date = Date()
  ) throws(CatalogError) -> [WorkItem] {
    try write { db in
      var added: [WorkItem] = []
      let filesBefore = try Self.lastFileRowID(db)
      let deadline = try db.fetchOneCached(
        String.self, sql: "SELECT deadline_estimate FROM container WHERE id = ?", arguments: [containerID])
      for file in files {
        let before = db.totalChangesCount
        try db.executeCached(
          sql: """
            INSERT INTO container_file (container_id, file_id, filename, container_path, source, first_seen_at)
            VALUES (?, ?, ?, ?, 'uncited', ?) ON CONFLICT(container_id, file_id) DO NOTHING
            """,
          arguments: [
            containerID, file.id, (file.path as NSString).lastPathComponent, file.path, CatalogTime.string(now),
          ])
        guard db.totalChangesCount > before else { continue }
        added.append(
          WorkItem(
            rowID: db.lastInsertedRowID, file: ContainerFileRef(containerID: containerID, fileID: file.id),
            filename: (file.path as NSString).lastPathComponent, deadline: deadline.flatMap(CatalogTime.date)))
      }
      try Self.countNameTrigrams(ofFilesAfter: filesBefore, db)
      return added
    }
  }

  /// Container file ids the catalog knows in `containerID`.
  public func knownFileIDs(containerID: String) throws(CatalogError) -> Set<String> {
    try read { db in
      Set(
        try String.fetchAll(
          db, sql: "SELECT file_id FROM container_file WHERE container_id = ?", arguments: [containerID]))
    }
  }
}

extension CatalogTime {
  static func date(_ text: String) -> Date? {
    try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
  }
}
