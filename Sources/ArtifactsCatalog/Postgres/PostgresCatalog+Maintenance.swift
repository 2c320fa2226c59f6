// What `check`, `gc`, `import` and repair ask of the shared catalog.
import ArtifactsCore
import Foundation

extension PostgresCatalog: CatalogMaintenance {
  /// The catalog's own invariants, which the schema's constraints should keep and a hand edit
  /// or a restore from an inconsistent backup could break.
  public func integrityProblems() throws(CatalogError) -> [String] {
    try read { connection throws(PostgresFailure) in
      var problems: [String] = []
      let checks: [(String, String)] = [
        (
          "SELECT count(*) FROM container_file f WHERE f.state = 'archived' AND NOT EXISTS (SELECT 1 FROM blob b WHERE b.digest = f.digest)",
          "archived files name bytes the catalog has no blob row for"
        ),
        (
          "SELECT count(*) FROM citation c WHERE NOT EXISTS (SELECT 1 FROM container_file f WHERE f.id = c.container_file_id)",
          "citations name files the catalog does not have"
        ),
        (
          "SELECT count(*) FROM container_file f WHERE NOT EXISTS (SELECT 1 FROM container c WHERE c.id = f.container_id)",
          "files name containers the catalog does not have"
        ),
        (
          "SELECT count(*) FROM container_file WHERE name_folded IS NULL OR (filename <> '' AND name_folded = '')",
          "files have no searchable name"
        ),
        (
          "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'container_file%' AND NOT i.indisvalid",
          "indexes of container_file are not valid (an interrupted REINDEX or CREATE INDEX)"
        ),
      ]
      for (sql, problem) in checks {
        let count = try connection.execute(sql).int(0, 0) ?? 0
        if count > 0 { problems.append("\(count) \(problem)") }
      }
      return problems
    }
  }

  public func blobRecords() throws(CatalogError) -> [BlobRecord] {
    try read { connection throws(PostgresFailure) in
      Self.blobRecords(try connection.execute("SELECT digest, size FROM blob"))
    }
  }

  public func blobsByVerificationAge() throws(CatalogError) -> [BlobRecord] {
    try read { connection throws(PostgresFailure) in
      Self.blobRecords(
        try connection.execute(
          "SELECT digest, size FROM blob ORDER BY last_verified_at IS NOT NULL, last_verified_at, digest"))
    }
  }

  static func blobRecords(_ rows: PostgresResult) -> [BlobRecord] {
    (0..<rows.count).compactMap { row in
      rows.string(row, 0).flatMap(Digest.init(hex:)).map { BlobRecord(digest: $0, size: rows.int(row, 1) ?? 0) }
    }
  }

  public func markVerified(_ digests: [Digest], now: Date = Date()) throws(CatalogError) {
    guard !digests.isEmpty else { return }
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        "UPDATE blob SET last_verified_at = $1 WHERE digest = ANY($2::text[])",
        [CatalogTime.string(now), postgresArray(digests.map(\.hex))])
    }
  }

  public func forget(_ files: [FoundFile]) throws(CatalogError) -> [Digest] {
    guard !files.isEmpty else { return [] }
    let ids = postgresArray(files.map(\.rowID))
    let digests = postgresArray(Set(files.compactMap { $0.digest?.hex }).sorted())
    return try write { connection throws(PostgresFailure) in
      try connection.execute("DELETE FROM citation WHERE container_file_id = ANY($1::bigint[])", [ids])
      try connection.execute("DELETE FROM container_file WHERE id = ANY($1::bigint[])", [ids])
      // Blob rows no file uses any more; a sync on another host that archives the same bytes
      // meanwhile re-creates the row (markArchived inserts it), and gc's grace keeps the bytes.
      let removed = try connection.execute(
        """
        DELETE FROM blob b WHERE b.digest = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM container_file f WHERE f.digest = b.digest)
        RETURNING digest
        """, [digests])
      return (0..<removed.count).compactMap { removed.string($0, 0).flatMap(Digest.init(hex:)) }.sorted {
        $0.hex < $1.hex
      }
    }
  }

  public func isReferenced(_ digest: Digest) throws(CatalogError) -> Bool {
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        "SELECT EXISTS (SELECT 1 FROM blob WHERE digest = $1) OR EXISTS (SELECT 1 FROM container_file WHERE digest = $1)",
        [digest.hex]
      ).bool(0, 0) ?? true
    }
  }

  public func resetForRepair(_ digest: Digest, problem: String) throws(CatalogError) -> [WorkItem] {
    try write { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT \(Self.workColumns)
        FROM container_file f JOIN container c ON c.id = f.container_id WHERE f.digest = $1
        """, [digest.hex])
      try connection.execute(
        "UPDATE container_file SET state = 'pending', digest = NULL, archived_at = NULL, last_error = $1 WHERE digest = $2",
        ["damaged: \(problem)", digest.hex])
      try connection.execute("DELETE FROM blob WHERE digest = $1", [digest.hex])
      return Self.workItems(rows)
    }
  }

  public func prefixLossReason(_ items: [WorkItem], with prefix: String) throws(CatalogError) {
    guard !items.isEmpty else { return }
    try read { connection throws(PostgresFailure) in
      try connection.execute(
        "UPDATE container_file SET last_error = $1 || coalesce(last_error, '') WHERE id = ANY($2::bigint[]) AND state = 'lost'",
        [prefix, postgresArray(items.map(\.rowID))])
    }
  }

  public func importFiles(_ files: [ImportedFile], now: Date = Date()) throws(CatalogError) -> Int {
    let time = CatalogTime.string(now)
    return try write { connection throws(PostgresFailure) in
      var added = 0
      for file in files {
        try connection.execute(
          "INSERT INTO container (id, first_seen_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
          [file.containerID, time], prepared: true)
        try connection.execute(
          """
          INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (digest) DO NOTHING
          """, [file.digest.hex, file.size, file.mediaType, time], prepared: true)
        let row = try connection.execute(
          """
          WITH inserted AS (
            INSERT INTO container_file (container_id, file_id, filename, name_folded, source, state, digest,
              first_seen_at, archived_at)
            VALUES ($1, $2, $3, $4, $5, 'archived', $6, $7, $8) ON CONFLICT (container_id, file_id) DO NOTHING
            RETURNING id)
          SELECT id, true FROM inserted
          UNION ALL SELECT id, false FROM container_file WHERE container_id = $1 AND file_id = $2
          LIMIT 1
          """,
          [
            file.containerID, file.fileID, file.filename, NameFolding.foldedString(file.filename), file.source,
            file.digest.hex, time, file.archivedAt ?? time,
          ], prepared: true)
        let fileRowID = row.int(0, 0)
        if row.bool(0, 1) == true {
          added += 1
        } else {
          try connection.execute(
            """
            UPDATE container_file SET state = 'archived', digest = $1, archived_at = $2, last_error = NULL
            WHERE id = $3 AND state <> 'archived'
            """, [file.digest.hex, file.archivedAt ?? time, fileRowID], prepared: true)
        }
        for citation in file.citations {
          var logID: Int64?
          if let log = citation.log {
            logID = try connection.execute(
              """
              WITH inserted AS (
                INSERT INTO log_file (host, path, format) VALUES ($1, $2, 'imported')
                ON CONFLICT (host, path) DO NOTHING RETURNING id)
              SELECT id FROM inserted UNION ALL SELECT id FROM log_file WHERE host = $1 AND path = $2 LIMIT 1
              """, [host, log], prepared: true
            ).int(0, 0)
          }
          if let response = citation.response {
            try connection.execute(
              """
              INSERT INTO response (id, created_at, model, previous_response_id, log_file_id, line)
              VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING
              """,
              [
                response.id, response.createdAt, response.model, response.previousResponseID, logID, citation.line,
              ], prepared: true)
          }
          try connection.execute(
            """
            INSERT INTO citation (citation_key, container_file_id, response_id, item_id, filename, start_index,
              end_index, cited_text, log_file_id, line)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (citation_key) DO NOTHING
            """,
            [
              citation.key, fileRowID, citation.response?.id, citation.itemID, citation.filename,
              citation.startIndex, citation.endIndex, citation.citedText, logID, citation.line,
            ], prepared: true)
        }
      }
      return added
    }
  }

  /// Counts of container files by state.
  public func stateCounts() throws(CatalogError) -> [FileState: Int] {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute("SELECT state, count(*) FROM container_file GROUP BY state")
      var counts: [FileState: Int] = [:]
      for row in 0..<rows.count {
        if let state = rows.string(row, 0).flatMap(FileState.init(rawValue:)) {
          counts[state] = Int(rows.int(row, 1) ?? 0)
        }
      }
      return counts
    }
  }
}
