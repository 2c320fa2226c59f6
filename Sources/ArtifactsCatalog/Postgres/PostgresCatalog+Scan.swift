// Recording what a log scan found, as the SQLite catalog does (Catalog+Scan.swift): one log's
// contribution in one transaction; a log's position is this host's.
import ArtifactsCore
import Foundation

extension PostgresCatalog: ScanRecorder {
  public func record(_ contribution: LogContribution, now: Date = Date()) throws(CatalogError) -> RecordOutcome {
    let seenAt = CatalogTime.string(now)
    let stream = contribution.checkpoint?.streamResponse.flatMap { response in
      (try? JSONEncoder().encode(response)).map { String(decoding: $0, as: UTF8.self) }
    }
    let batch = ContributionRows(contribution)
    return try write { connection throws(PostgresFailure) in
      var outcome = RecordOutcome()
      let logID = try saveLogFile(contribution, stream: stream, seenAt: seenAt, connection)
      // One statement per table, each row as arrays: a log of thousands of citations costs a
      // few round trips, not several per citation (hosts reading the same log wait on each
      // other's rows until the transaction ends, so it must end soon).
      try upsertResponses(batch.responses, logID: logID, connection)
      try upsertContainers(batch.containers, seenAt: seenAt, connection)
      let (rowIDs, newFiles) = try insertFiles(batch.files, seenAt: seenAt, connection)
      outcome.newFiles += newFiles
      outcome.newCitations += try insertCitations(batch.citations, rowIDs: rowIDs, logID: logID, connection)
      outcome.citedFiles = Set(contribution.citations.compactMap { rowIDs[$0.file] }).sorted()
      for stored in contribution.inlineImages {
        if try recordInline(stored, logID: logID, seenAt: seenAt, connection) { outcome.newFiles += 1 }
      }
      for sighting in contribution.sightings {
        let key =
          "\(sighting.response?.id ?? sighting.location.description)|\(sighting.callID ?? "-")|\(sighting.containerID)"
        try connection.execute(
          """
          INSERT INTO container_sighting (sighting_key, container_id, call_id, response_id, log_file_id, line)
          VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sighting_key) DO NOTHING
          """, [key, sighting.containerID, sighting.callID, sighting.response?.id, logID, sighting.location.line],
          prepared: true)
      }
      return outcome
    }
  }

  private func upsertResponses(
    _ responses: [(info: ResponseInfo, line: Int)], logID: Int64?, _ connection: PostgresConnection
  )
    throws(PostgresFailure)
  {
    guard !responses.isEmpty else { return }
    try connection.execute(
      """
      INSERT INTO response (id, created_at, model, status, previous_response_id, log_file_id, line)
      SELECT id, created_at, model, status, previous_response_id, $6, line
      FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $7::integer[])
        AS r (id, created_at, model, status, previous_response_id, line)
      ON CONFLICT (id) DO UPDATE SET
        created_at = coalesce(response.created_at, excluded.created_at),
        model = coalesce(response.model, excluded.model),
        status = coalesce(excluded.status, response.status),
        previous_response_id = coalesce(response.previous_response_id, excluded.previous_response_id)
      """,
      [
        postgresArray(responses.map { $0.info.id }),
        postgresArray(responses.map { $0.info.createdAt.map(String.init) }),
        postgresArray(responses.map { $0.info.model }), postgresArray(responses.map { $0.info.status }),
        postgresArray(responses.map { $0.info.previousResponseID }), logID,
        postgresArray(responses.map { String($0.line) }),
      ], prepared: true)
  }

  private func upsertContainers(
    _ containers: [(id: String, respondedAt: Int64?)], seenAt: String, _ connection: PostgresConnection
  )
    throws(PostgresFailure)
  {
    guard !containers.isEmpty else { return }
    // The latest use any citing response shows, plus 20 minutes: the container lives at least that long.
    let deadlines = containers.map { container in
      container.respondedAt.map { CatalogTime.string(unixSeconds: $0 + Int64(ContainerLifetime.default)) }
    }
    try connection.execute(
      """
      INSERT INTO container (id, first_seen_at, deadline_estimate)
      SELECT id, $2, deadline FROM unnest($1::text[], $3::text[]) AS c (id, deadline)
      ON CONFLICT (id) DO UPDATE SET deadline_estimate = CASE
        WHEN container.deadline_estimate IS NULL THEN excluded.deadline_estimate
        WHEN excluded.deadline_estimate IS NULL THEN container.deadline_estimate
        ELSE greatest(container.deadline_estimate, excluded.deadline_estimate) END
      """, [postgresArray(containers.map(\.id)), seenAt, postgresArray(deadlines)], prepared: true)
  }

  /// Inserts the files the catalog does not have; every file's row id, and how many were new.
  private func insertFiles(
    _ files: [(file: ContainerFileRef, filename: String)], seenAt: String, _ connection: PostgresConnection
  )
    throws(PostgresFailure) -> ([ContainerFileRef: Int64], Int)
  {
    guard !files.isEmpty else { return ([:], 0) }
    let containers = postgresArray(files.map(\.file.containerID))
    let ids = postgresArray(files.map(\.file.fileID))
    let inserted = try connection.execute(
      """
      INSERT INTO container_file (container_id, file_id, filename, name_folded, source, first_seen_at)
      SELECT container_id, file_id, filename, name_folded, 'cited', $5
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS f (container_id, file_id, filename, name_folded)
      ON CONFLICT (container_id, file_id) DO NOTHING
      """,
      [
        containers, ids, postgresArray(files.map(\.filename)),
        postgresArray(files.map { NameFolding.foldedString($0.filename) }), seenAt,
      ], prepared: true)
    let rows = try connection.execute(
      """
      SELECT id, container_id, file_id FROM container_file
      WHERE (container_id, file_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      """, [containers, ids], prepared: true)
    var rowIDs: [ContainerFileRef: Int64] = [:]
    for row in 0..<rows.count {
      if let id = rows.int(row, 0), let container = rows.string(row, 1), let file = rows.string(row, 2) {
        rowIDs[ContainerFileRef(containerID: container, fileID: file)] = id
      }
    }
    return (rowIDs, inserted.changed)
  }

  /// Inserts the citations (a known one gains its cited text if it had none); returns how many were new.
  private func insertCitations(
    _ citations: [Citation], rowIDs: [ContainerFileRef: Int64], logID: Int64?, _ connection: PostgresConnection
  ) throws(PostgresFailure) -> Int {
    guard !citations.isEmpty else { return 0 }
    func column(_ value: (Citation) -> String?) -> String { postgresArray(citations.map(value)) }
    let result = try connection.execute(
      """
      INSERT INTO citation (citation_key, container_file_id, response_id, item_id, output_index, content_index,
        annotation_index, filename, start_index, end_index, cited_text, log_file_id, line)
      SELECT citation_key, container_file_id, response_id, item_id, output_index, content_index, annotation_index,
        filename, start_index, end_index, cited_text, $13, line
      FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::integer[],
        $8::text[], $9::integer[], $10::integer[], $11::text[], $12::integer[])
        AS c (citation_key, container_file_id, response_id, item_id, output_index, content_index, annotation_index,
          filename, start_index, end_index, cited_text, line)
      ON CONFLICT (citation_key) DO UPDATE SET cited_text = coalesce(citation.cited_text, excluded.cited_text)
      RETURNING xmax = 0
      """,
      [
        column(\.identity), column { rowIDs[$0.file].map(String.init) }, column { $0.response?.id }, column(\.itemID),
        column { $0.outputIndex.map(String.init) }, column { $0.contentIndex.map(String.init) },
        column { $0.annotationIndex.map(String.init) }, column(\.filename), column { String($0.startIndex) },
        column { String($0.endIndex) }, column(\.citedText), column { String($0.location.line) }, logID,
      ], prepared: true)
    return (0..<result.count).filter { result.bool($0, 0) == true }.count
  }

  /// Inserts a file if the catalog does not have it; its row id, and whether it was new.
  func insertFile(
    _ file: ContainerFileRef, filename: String, source: String, containerPath: String? = nil, seenAt: String,
    _ connection: PostgresConnection
  ) throws(PostgresFailure) -> (Int64, Bool) {
    // The second SELECT does not see the row the first part inserts: exactly one answers.
    let row = try connection.execute(
      """
      WITH inserted AS (
        INSERT INTO container_file (container_id, file_id, filename, name_folded, container_path, source, first_seen_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (container_id, file_id) DO NOTHING RETURNING id)
      SELECT id, true FROM inserted
      UNION ALL SELECT id, false FROM container_file WHERE container_id = $1 AND file_id = $2
      LIMIT 1
      """,
      [
        file.containerID, file.fileID, filename, NameFolding.foldedString(filename), containerPath, source, seenAt,
      ], prepared: true)
    return (row.int(0, 0) ?? 0, row.bool(0, 1) ?? false)
  }

  private func saveLogFile(
    _ contribution: LogContribution, stream: String?, seenAt: String, _ connection: PostgresConnection
  )
    throws(PostgresFailure) -> Int64?
  {
    let checkpoint = contribution.checkpoint
    let row = try connection.execute(
      """
      INSERT INTO log_file (host, path, format, last_scanned_at, device, inode, size, mtime_ns, head_fingerprint,
        bytes_consumed, lines_consumed, stream_response, compressed)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
      ON CONFLICT (host, path) DO UPDATE SET format = excluded.format, last_scanned_at = excluded.last_scanned_at,
        device = excluded.device, inode = excluded.inode, size = excluded.size, mtime_ns = excluded.mtime_ns,
        head_fingerprint = excluded.head_fingerprint, bytes_consumed = excluded.bytes_consumed,
        lines_consumed = excluded.lines_consumed, stream_response = excluded.stream_response,
        compressed = excluded.compressed
      RETURNING id
      """,
      [
        host, contribution.path, contribution.format.rawValue, seenAt, checkpoint.map { Int64(bitPattern: $0.device) },
        checkpoint.map { Int64(bitPattern: $0.inode) }, checkpoint?.size, checkpoint?.modifiedNanoseconds,
        checkpoint?.headFingerprint, checkpoint?.bytesConsumed ?? 0, checkpoint?.linesConsumed ?? 0, stream,
        checkpoint?.compressed ?? false,
      ], prepared: true)
    return row.int(0, 0)
  }

  public func logIdentities() throws(CatalogError) -> [String: LogFileIdentity] {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        "SELECT path, device, inode, size, mtime_ns FROM log_file WHERE host = $1 AND device IS NOT NULL", [host])
      var identities: [String: LogFileIdentity] = [:]
      identities.reserveCapacity(rows.count)
      for row in 0..<rows.count {
        guard let path = rows.string(row, 0) else { continue }
        identities[path] = LogFileIdentity(
          device: UInt64(bitPattern: rows.int(row, 1) ?? 0), inode: UInt64(bitPattern: rows.int(row, 2) ?? 0),
          size: rows.int(row, 3) ?? 0, modifiedNanoseconds: rows.int(row, 4) ?? 0)
      }
      return identities
    }
  }

  public func logCheckpoint(path: String) throws(CatalogError) -> LogCheckpoint? {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        """
        SELECT device, inode, size, mtime_ns, head_fingerprint, bytes_consumed, lines_consumed, format, compressed,
          stream_response
        FROM log_file WHERE host = $1 AND path = $2 AND device IS NOT NULL AND head_fingerprint IS NOT NULL
        """, [host, path], prepared: true)
      guard rows.count == 1 else { return nil }
      let stream = rows.string(0, 9).flatMap { try? JSONDecoder().decode(ResponseInfo.self, from: Data($0.utf8)) }
      return LogCheckpoint(
        device: UInt64(bitPattern: rows.int(0, 0) ?? 0), inode: UInt64(bitPattern: rows.int(0, 1) ?? 0),
        size: rows.int(0, 2) ?? 0, modifiedNanoseconds: rows.int(0, 3) ?? 0, headFingerprint: rows.string(0, 4) ?? "",
        bytesConsumed: rows.int(0, 5) ?? 0, linesConsumed: Int(rows.int(0, 6) ?? 0),
        format: LogFormat(rawValue: rows.string(0, 7) ?? "") ?? .unrecognized, compressed: rows.bool(0, 8) ?? false,
        streamResponse: stream)
    }
  }

  public func archivedCount(among files: [Int64]) throws(CatalogError) -> Int {
    guard !files.isEmpty else { return 0 }
    return try read { connection throws(PostgresFailure) in
      let rows = try connection.execute(
        "SELECT count(*) FROM container_file WHERE id = ANY($1::bigint[]) AND state = 'archived'",
        [postgresArray(files)], prepared: true)
      return Int(rows.int(0, 0) ?? 0)
    }
  }

  public func carryCheckpoint(from: String, to: String, identity: LogFileIdentity) throws(CatalogError) -> Bool {
    try write { connection throws(PostgresFailure) in
      let moved = try connection.execute(
        """
        INSERT INTO log_file (host, path, format, device, inode, size, mtime_ns, head_fingerprint, bytes_consumed,
          lines_consumed, stream_response, compressed, last_scanned_at)
        SELECT host, $2, format, device, inode, size, mtime_ns, head_fingerprint, bytes_consumed, lines_consumed,
          stream_response, compressed, last_scanned_at
        FROM log_file WHERE host = $1 AND path = $3 AND device = $4 AND inode = $5 AND head_fingerprint IS NOT NULL
        ON CONFLICT (host, path) DO UPDATE SET format = excluded.format, device = excluded.device,
          inode = excluded.inode, size = excluded.size, mtime_ns = excluded.mtime_ns,
          head_fingerprint = excluded.head_fingerprint, bytes_consumed = excluded.bytes_consumed,
          lines_consumed = excluded.lines_consumed, stream_response = excluded.stream_response,
          compressed = excluded.compressed, last_scanned_at = excluded.last_scanned_at
        """,
        [host, to, from, Int64(bitPattern: identity.device), Int64(bitPattern: identity.inode)])
      guard moved.changed > 0 else { return false }
      // The old name keeps its history (the citations read from it); what appears there next is new.
      try connection.execute(
        """
        UPDATE log_file SET device = NULL, inode = NULL, size = NULL, mtime_ns = NULL, head_fingerprint = NULL,
          bytes_consumed = 0, lines_consumed = 0, stream_response = NULL WHERE host = $1 AND path = $2
        """, [host, from])
      return true
    }
  }

  /// An image that came inside the log: archived at once, since its bytes are stored.
  private func recordInline(
    _ stored: StoredInlineImage, logID: Int64?, seenAt: String, _ connection: PostgresConnection
  )
    throws(PostgresFailure) -> Bool
  {
    let image = stored.image
    let row = try connection.execute(
      """
      WITH stored AS (
        INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES ($4, $5, $6, $7)
        ON CONFLICT (digest) DO NOTHING),
      inserted AS (
        INSERT INTO container_file (container_id, file_id, filename, name_folded, source, state, digest,
          first_seen_at, archived_at)
        VALUES ($1, $2, $3, $8, 'log', 'archived', $4, $7, $7) ON CONFLICT (container_id, file_id) DO NOTHING
        RETURNING id)
      SELECT id, true FROM inserted
      UNION ALL SELECT id, false FROM container_file WHERE container_id = $1 AND file_id = $2
      LIMIT 1
      """,
      [
        image.containerID, image.fileID, image.filename, stored.digest.hex, stored.size, stored.mediaType, seenAt,
        NameFolding.foldedString(image.filename),
      ], prepared: true)
    let owner = image.response?.id ?? image.location.description
    try connection.execute(
      """
      INSERT INTO citation (citation_key, container_file_id, response_id, item_id, output_index, filename,
        start_index, end_index, log_file_id, line)
      VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8) ON CONFLICT (citation_key) DO NOTHING
      """,
      [
        "inline|\(owner)|\(image.callID)|\(image.outputIndex)", row.int(0, 0), image.response?.id, image.callID,
        image.outputIndex, image.filename, logID, image.location.line,
      ], prepared: true)
    return row.bool(0, 1) ?? false
  }
}

/// What one log contributes, gathered per table with repeats merged as the SQLite catalog's
/// statement-by-statement upserts would leave them: a response keeps its first created_at,
/// model and previous id and its last status; a container the latest use; a file its first
/// name; a citation its first row and first cited text.
struct ContributionRows {
  var responses: [(info: ResponseInfo, line: Int)] = []
  var containers: [(id: String, respondedAt: Int64?)] = []
  var files: [(file: ContainerFileRef, filename: String)] = []
  var citations: [Citation] = []

  init(_ contribution: LogContribution) {
    var responseIndex: [String: Int] = [:]
    var containerIndex: [String: Int] = [:]
    var fileIndex: Set<ContainerFileRef> = []
    var citationIndex: [String: Int] = [:]
    func response(_ info: ResponseInfo?, line: Int) {
      guard let info else { return }
      guard let index = responseIndex[info.id] else {
        responseIndex[info.id] = responses.count
        responses.append((info, line))
        return
      }
      var merged = responses[index].info
      merged.createdAt = merged.createdAt ?? info.createdAt
      merged.model = merged.model ?? info.model
      merged.status = info.status ?? merged.status
      merged.previousResponseID = merged.previousResponseID ?? info.previousResponseID
      responses[index].info = merged
    }
    func container(_ id: String, respondedAt: Int64?) {
      guard let index = containerIndex[id] else {
        containerIndex[id] = containers.count
        containers.append((id, respondedAt))
        return
      }
      if let respondedAt {
        containers[index].respondedAt = max(containers[index].respondedAt ?? respondedAt, respondedAt)
      }
    }
    for item in contribution.responses { response(item.info, line: item.location.line) }
    for citation in contribution.citations {
      response(citation.response, line: citation.location.line)
      container(citation.file.containerID, respondedAt: citation.response?.createdAt)
      if fileIndex.insert(citation.file).inserted { files.append((citation.file, citation.filename)) }
      if let index = citationIndex[citation.identity] {
        if citations[index].citedText == nil { citations[index].citedText = citation.citedText }
      } else {
        citationIndex[citation.identity] = citations.count
        citations.append(citation)
      }
    }
    for stored in contribution.inlineImages {
      response(stored.image.response, line: stored.image.location.line)
      container(stored.image.containerID, respondedAt: stored.image.response?.createdAt)
    }
    for sighting in contribution.sightings {
      response(sighting.response, line: sighting.location.line)
      container(sighting.containerID, respondedAt: sighting.response?.createdAt)
    }
  }
}
