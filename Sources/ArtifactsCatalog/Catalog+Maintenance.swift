// What `check` and `gc` ask of the catalog.
import ArtifactsCore
import Foundation
import GRDB

extension Catalog: CatalogMaintenance {
  /// SQLite's own integrity check: an empty list means the database file is sound.
  public func integrityProblems() throws(CatalogError) -> [String] {
    try read { db in
      let rows = try String.fetchAll(db, sql: "PRAGMA integrity_check")
      let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
      return rows.filter { $0 != "ok" }
        + foreignKeys.map { "a row of \($0[0] as String? ?? "?") refers to a missing \($0[2] as String? ?? "?") row" }
    }
  }

  public func blobRecords() throws(CatalogError) -> [BlobRecord] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT digest, size FROM blob").compactMap { row in
        Digest(hex: row[0]).map { BlobRecord(digest: $0, size: row[1]) }
      }
    }
  }

  /// Blobs in the order `check --read-data` should verify them: never verified first, then
  /// the longest ago.
  public func blobsByVerificationAge() throws(CatalogError) -> [BlobRecord] {
    try read { db in
      try Row.fetchAll(
        db, sql: "SELECT digest, size FROM blob ORDER BY last_verified_at IS NOT NULL, last_verified_at, digest"
      )
      .compactMap { row in Digest(hex: row[0]).map { BlobRecord(digest: $0, size: row[1]) } }
    }
  }

  public func markVerified(_ digests: [Digest], now: Date = Date()) throws(CatalogError) {
    guard !digests.isEmpty else { return }
    try write { db in
      let time = CatalogTime.string(now)
      for digest in digests {
        try db.execute(sql: "UPDATE blob SET last_verified_at = ? WHERE digest = ?", arguments: [time, digest.hex])
      }
    }
  }

  /// Every file whose bytes are `digests`, with provenance.
  public func files(withDigests digests: Set<Digest>) throws(CatalogError) -> [FoundFile] {
    guard !digests.isEmpty else { return [] }
    return try read { db in
      var files: [FoundFile] = []
      let all = digests.map(\.hex).sorted()
      for start in stride(from: 0, to: all.count, by: 500) {
        let slice = Array(all[start..<min(start + 500, all.count)])
        files += try Row.fetchAll(
          db,
          sql: Self.baseSelect
            + " WHERE f.digest IN (\(databaseQuestionMarks(count: slice.count))) ORDER BY f.filename",
          arguments: StatementArguments(slice)
        ).map(Self.foundFile)
      }
      try Self.attachCitations(to: &files, db)
      return files
    }
  }

  /// Forgets archived files (their citations go with them) and the blob rows no file uses any
  /// more; returns the digests whose blob rows were removed (their bytes may now be deleted).
  public func forget(_ files: [FoundFile]) throws(CatalogError) -> [Digest] {
    try write { db in
      for file in files {
        try db.execute(sql: "DELETE FROM citation WHERE container_file_id = ?", arguments: [file.rowID])
        try db.execute(sql: "DELETE FROM container_file WHERE id = ?", arguments: [file.rowID])
      }
      let digests = Set(files.compactMap { $0.digest?.hex })
      var removed: [Digest] = []
      for hex in digests.sorted() {
        let used =
          try Bool.fetchOne(db, sql: "SELECT 1 FROM container_file WHERE digest = ? LIMIT 1", arguments: [hex]) ?? false
        guard !used else { continue }
        try db.execute(sql: "DELETE FROM blob WHERE digest = ?", arguments: [hex])
        if let digest = Digest(hex: hex) { removed.append(digest) }
      }
      return removed
    }
  }

  /// Whether any catalog row refers to `digest` (gc never deletes such a blob).
  public func isReferenced(_ digest: Digest) throws(CatalogError) -> Bool {
    try read { db in
      try Bool.fetchOne(
        db,
        sql:
          "SELECT EXISTS (SELECT 1 FROM blob WHERE digest = ?) OR EXISTS (SELECT 1 FROM container_file WHERE digest = ?)",
        arguments: [digest.hex, digest.hex]) ?? true
    }
  }
}

extension Catalog {
  /// Puts every file whose bytes are `digest` back to `pending` (their stored bytes are damaged)
  /// and forgets the blob row; returns the work to download them again.
  public func resetForRepair(_ digest: Digest, problem: String) throws(CatalogError) -> [WorkItem] {
    try write { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT f.id, f.container_id, f.file_id, f.filename, c.deadline_estimate
          FROM container_file f JOIN container c ON c.id = f.container_id WHERE f.digest = ?
          """, arguments: [digest.hex])
      try db.execute(
        sql:
          "UPDATE container_file SET state = 'pending', digest = NULL, archived_at = NULL, last_error = ? WHERE digest = ?",
        arguments: ["damaged: \(problem)", digest.hex])
      try db.execute(sql: "DELETE FROM blob WHERE digest = ?", arguments: [digest.hex])
      return rows.map { row in
        WorkItem(
          rowID: row[0], file: ContainerFileRef(containerID: row[1], fileID: row[2]), filename: row[3],
          deadline: (row[4] as String?).flatMap(CatalogTime.date))
      }
    }
  }
}

extension Catalog {
  /// Prefixes the reason of those of `items` that ended lost (a repair that came too late says
  /// the bytes were damaged before the container went).
  public func prefixLossReason(_ items: [WorkItem], with prefix: String) throws(CatalogError) {
    try write { db in
      for item in items {
        try db.execute(
          sql: "UPDATE container_file SET last_error = ? || coalesce(last_error, '') WHERE id = ? AND state = 'lost'",
          arguments: [prefix, item.rowID])
      }
    }
  }
}
