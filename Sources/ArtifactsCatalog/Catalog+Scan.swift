// Recording what a log scan found. Everything from one log lands in one transaction, so a
// crash mid-scan leaves the log to be read again, never half-recorded.
import ArtifactsCore
import Foundation
import GRDB

extension Catalog: ScanRecorder {
  public func record(_ contribution: LogContribution, now: Date = Date()) throws(CatalogError) -> RecordOutcome {
    try write { db in
      var outcome = RecordOutcome()
      let seenAt = CatalogTime.string(now)
      let filesBefore = try Self.lastFileRowID(db)
      try Self.saveLogFile(contribution, seenAt: seenAt, db)
      let logID = try db.fetchOneCached(
        Int64.self, sql: "SELECT id FROM log_file WHERE path = ?", arguments: [contribution.path])

      // A response citing five files, or a container cited by ten responses, is written once
      // per distinct value, not once per citation: repeats change nothing.
      var citedFiles = Set<Int64>()
      var responsesWritten = Set<ResponseInfo>()
      var containersWritten = Set<ContainerUse>()
      func upsertOnce(_ response: ResponseInfo, line: Int) throws {
        if responsesWritten.insert(response).inserted {
          try upsert(response: response, line: line, logID: logID, db)
        }
      }
      func upsertContainerOnce(_ id: String, respondedAt: Int64?) throws {
        if containersWritten.insert(ContainerUse(id: id, respondedAt: respondedAt)).inserted {
          try upsertContainer(id, respondedAt: respondedAt, seenAt: seenAt, db)
        }
      }
      // Responses and containers first (citations refer to them), then files, then
      // citations: each in statements of many rows, in the order the log gave them.
      var responses: [(info: ResponseInfo, line: Int)] = []
      var containers: [ContainerUse] = []
      for response in contribution.responses where responsesWritten.insert(response.info).inserted {
        responses.append((response.info, response.location.line))
      }
      for citation in contribution.citations {
        if let response = citation.response, responsesWritten.insert(response).inserted {
          responses.append((response, citation.location.line))
        }
        let use = ContainerUse(id: citation.file.containerID, respondedAt: citation.response?.createdAt)
        if containersWritten.insert(use).inserted { containers.append(use) }
      }
      try upsert(responses: responses, logID: logID, db)
      try upsertContainers(containers, seenAt: seenAt, db)
      outcome.newFiles += try insertCitedFiles(contribution.citations, seenAt: seenAt, db)
      let fileRows = try Self.fileRowIDs(of: contribution.citations.map(\.file), db)
      citedFiles.formUnion(fileRows.values)
      // Rows inserted get ids above every existing one: those above the largest before are new.
      let lastCitation = try db.fetchOneCached(Int64.self, sql: "SELECT max(id) FROM citation") ?? 0
      try insertCitations(contribution.citations, fileRows: fileRows, logID: logID, db)
      outcome.newCitations +=
        try db.fetchOneCached(Int.self, sql: "SELECT count(*) FROM citation WHERE id > ?", arguments: [lastCitation])
        ?? 0
      for stored in contribution.inlineImages {
        if try recordInline(stored, logID: logID, seenAt: seenAt, db) { outcome.newFiles += 1 }
      }
      // The responses and containers sightings name first (the rows refer to them), then the
      // sightings themselves, 64 to a statement: a dense log has one per citing line.
      for sighting in contribution.sightings {
        if let response = sighting.response {
          try upsertOnce(response, line: sighting.location.line)
        }
        try upsertContainerOnce(sighting.containerID, respondedAt: sighting.response?.createdAt)
      }
      _ = try Self.insertRows(
        contribution.sightings,
        "INSERT INTO container_sighting (sighting_key, container_id, call_id, response_id, log_file_id, line)",
        row: "(?, ?, ?, ?, ?, ?)", tail: "ON CONFLICT(sighting_key) DO NOTHING", db
      ) { sighting in
        let key =
          "\(sighting.response?.id ?? sighting.location.description)|\(sighting.callID ?? "-")|\(sighting.containerID)"
        return [key, sighting.containerID, sighting.callID, sighting.response?.id, logID, sighting.location.line]
      }
      try Self.countNameTrigrams(ofFilesAfter: filesBefore, db)
      outcome.citedFiles = citedFiles.sorted()
      return outcome
    }
  }

  /// Rows per INSERT: every new citation, response and container of a recording goes in a
  /// few statements of many rows, not one each. A statement costs far more than a row: its
  /// arguments, its step, its reset, its lookup in the statement cache.
  static let rowsPerInsert = 64
  /// More for files: the trigger that indexes names for `find` writes to FTS5, which flushes
  /// what it holds into a new index segment at the start of every later statement of the
  /// transaction. With a file per statement, recording a log wrote (and then merged) a
  /// segment per file, two thirds of the time of a dry run over a dense log.
  static let filesPerInsert = 256

  /// Runs `insert`, `perStatement` copies of `row` and `tail` over `items`, one statement
  /// per `perStatement` of them (the full statement is cached, the last one prepared once);
  /// returns how many rows the statements changed, as SQLite counts them.
  private static func insertRows<Item>(
    _ items: some Collection<Item>, perStatement: Int = rowsPerInsert, _ insert: String, row: String, tail: String,
    _ db: Database, values: (Item) -> [(any DatabaseValueConvertible)?]
  ) throws -> Int {
    var changed = 0
    var rest = items[...]
    while !rest.isEmpty {
      let chunk = rest.prefix(perStatement)
      rest = rest.dropFirst(chunk.count)
      var arguments = StatementArguments()
      for item in chunk { arguments += StatementArguments(values(item)) }
      let sql = insert + " VALUES " + Array(repeating: row, count: chunk.count).joined(separator: ", ") + " " + tail
      if chunk.count == perStatement {
        try db.executeCached(sql: sql, arguments: arguments)
      } else {
        try db.execute(sql: sql, arguments: arguments)
      }
      changed += db.changesCount
    }
    return changed
  }

  /// Inserts the files `citations` name that the catalog does not have yet, each under the
  /// name its first citation gives it, and with the production time that citation gives it
  /// (its response's, else 0): what the trigger on citations works out once the first one is
  /// inserted, so it writes nothing then, and again only for a later citation that moves the
  /// time (v008). Returns how many files were new.
  private func insertCitedFiles(_ citations: [Citation], seenAt: String, _ db: Database) throws -> Int {
    var seen = Set<ContainerFileRef>()
    return try Self.insertRows(
      citations.filter { seen.insert($0.file).inserted }, perStatement: Self.filesPerInsert,
      "INSERT INTO container_file (container_id, file_id, filename, source, first_seen_at, produced_at)",
      row: "(?, ?, ?, 'cited', ?, ?)", tail: "ON CONFLICT(container_id, file_id) DO NOTHING", db
    ) { [$0.file.containerID, $0.file.fileID, $0.filename, seenAt, $0.response?.createdAt ?? 0] }
  }

  /// The row id of each of `files` the catalog has, looked up many at a time.
  private static func fileRowIDs(of files: [ContainerFileRef], _ db: Database) throws -> [ContainerFileRef: Int64] {
    var rows: [ContainerFileRef: Int64] = [:]
    let distinct = Array(Set(files))
    for start in stride(from: 0, to: distinct.count, by: rowsPerInsert) {
      let chunk = distinct[start..<min(start + rowsPerInsert, distinct.count)]
      var arguments = StatementArguments()
      for file in chunk { _ = arguments.append(contentsOf: [file.containerID, file.fileID]) }
      // Each pair of the list finds its row through the unique index on (container_id, file_id).
      let sql =
        "SELECT f.id, f.container_id, f.file_id FROM (VALUES "
        + Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", ")
        + ") AS wanted JOIN container_file f ON f.container_id = wanted.column1 AND f.file_id = wanted.column2"
      let statement = try chunk.count == rowsPerInsert ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql)
      let found = try Row.fetchCursor(statement, arguments: arguments)
      while let row = try found.next() {
        rows[ContainerFileRef(containerID: row[1], fileID: row[2])] = row[0]
      }
    }
    return rows
  }

  /// Inserts `citations`, each once: a repeat (a re-logged response, a rescanned log) only
  /// fills a cited text the first one lacked.
  private func insertCitations(
    _ citations: [Citation], fileRows: [ContainerFileRef: Int64], logID: Int64?, _ db: Database
  ) throws {
    _ = try Self.insertRows(
      citations,
      """
      INSERT INTO citation (citation_key, container_file_id, response_id, item_id, output_index, content_index,
        annotation_index, filename, start_index, end_index, cited_text, log_file_id, line)
      """, row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      tail: "ON CONFLICT(citation_key) DO UPDATE SET cited_text = coalesce(citation.cited_text, excluded.cited_text)",
      db
    ) { citation in
      [
        citation.identity, fileRows[citation.file], citation.response?.id, citation.itemID, citation.outputIndex,
        citation.contentIndex, citation.annotationIndex, citation.filename, citation.startIndex, citation.endIndex,
        citation.citedText, logID, citation.location.line,
      ]
    }
  }

  private static func saveLogFile(_ contribution: LogContribution, seenAt: String, _ db: Database) throws {
    let checkpoint = contribution.checkpoint
    let stream = try checkpoint?.streamResponse.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
    try db.executeCached(
      sql: """
        INSERT INTO log_file (path, format, last_scanned_at, device, inode, size, mtime_ns, head_fingerprint,
          bytes_consumed, lines_consumed, stream_response, compressed)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(path) DO UPDATE SET format = excluded.format, last_scanned_at = excluded.last_scanned_at,
          device = excluded.device, inode = excluded.inode, size = excluded.size, mtime_ns = excluded.mtime_ns,
          head_fingerprint = excluded.head_fingerprint, bytes_consumed = excluded.bytes_consumed,
          lines_consumed = excluded.lines_consumed, stream_response = excluded.stream_response,
          compressed = excluded.compressed
        """,
      arguments: [
        contribution.path, contribution.format.rawValue, seenAt, checkpoint.map { Int64(bitPattern: $0.device) },
        checkpoint.map { Int64(bitPattern: $0.inode) }, checkpoint?.size, checkpoint?.modifiedNanoseconds,
        checkpoint?.headFingerprint, checkpoint?.bytesConsumed ?? 0, checkpoint?.linesConsumed ?? 0, stream,
        checkpoint?.compressed ?? false,
      ])
  }

  /// The identity each log had when it was last read, by path: comparing it with `stat` is
  /// all an unchanged log costs. (Full checkpoints are fetched only for logs that changed.)
  public func logIdentities() throws(CatalogError) -> [String: LogFileIdentity] {
    try read { db in
      var identities: [String: LogFileIdentity] = [:]
      identities.reserveCapacity(try db.fetchOneCached(Int.self, sql: "SELECT count(*) FROM log_file") ?? 0)
      let rows = try Row.fetchCursor(
        db, sql: "SELECT path, device, inode, size, mtime_ns FROM log_file WHERE device IS NOT NULL")
      while let row = try rows.next() {
        identities[row[0]] = LogFileIdentity(
          device: UInt64(bitPattern: row[1]), inode: UInt64(bitPattern: row[2]), size: row[3],
          modifiedNanoseconds: row[4])
      }
      return identities
    }
  }

  /// What the last scan of `path` left, if it left a resumable state.
  public func logCheckpoint(path: String) throws(CatalogError) -> LogCheckpoint? {
    try read { db in
      guard
        let row = try Row.fetchOne(
          db,
          sql: """
            SELECT device, inode, size, mtime_ns, head_fingerprint, bytes_consumed, lines_consumed, format,
              compressed, stream_response
            FROM log_file WHERE path = ? AND device IS NOT NULL AND head_fingerprint IS NOT NULL
            """, arguments: [path])
      else { return nil }
      let stream = (row[9] as String?).flatMap { try? JSONDecoder().decode(ResponseInfo.self, from: Data($0.utf8)) }
      return LogCheckpoint(
        device: UInt64(bitPattern: row[0]), inode: UInt64(bitPattern: row[1]), size: row[2],
        modifiedNanoseconds: row[3],
        headFingerprint: row[4], bytesConsumed: row[5], linesConsumed: row[6],
        format: LogFormat(rawValue: row[7] ?? "") ?? .unrecognized, compressed: row[8],
        streamResponse: stream)
    }
  }

  public func carryCheckpoint(from: String, to: String, identity: LogFileIdentity) throws(CatalogError) -> Bool {
    try write { db in
      guard
        let row = try Row.fetchOne(
          db,
          sql: """
            SELECT format, device, inode, size, mtime_ns, head_fingerprint, bytes_consumed, lines_consumed,
              stream_response, compressed, last_scanned_at
            FROM log_file WHERE path = ? AND device = ? AND inode = ? AND head_fingerprint IS NOT NULL
            """, arguments: [from, Int64(bitPattern: identity.device), Int64(bitPattern: identity.inode)])
      else { return false }
      var arguments: [DatabaseValue] = [to.databaseValue]
      for index in 0..<11 { arguments.append(row[index]) }
      try db.execute(
        sql: """
          INSERT INTO log_file (path, format, device, inode, size, mtime_ns, head_fingerprint, bytes_consumed,
            lines_consumed, stream_response, compressed, last_scanned_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(path) DO UPDATE SET format = excluded.format, device = excluded.device, inode = excluded.inode,
            size = excluded.size, mtime_ns = excluded.mtime_ns, head_fingerprint = excluded.head_fingerprint,
            bytes_consumed = excluded.bytes_consumed, lines_consumed = excluded.lines_consumed,
            stream_response = excluded.stream_response, compressed = excluded.compressed,
            last_scanned_at = excluded.last_scanned_at
          """, arguments: StatementArguments(arguments))
      // The old name keeps its history (the citations read from it); what appears there next is new.
      try db.execute(
        sql: """
          UPDATE log_file SET device = NULL, inode = NULL, size = NULL, mtime_ns = NULL, head_fingerprint = NULL,
            bytes_consumed = 0, lines_consumed = 0, stream_response = NULL WHERE path = ?
          """, arguments: [from])
      return true
    }
  }

  /// Records an image that came inside the log: archived at once, since its bytes are stored.
  /// Returns whether the file was new.
  private func recordInline(_ stored: StoredInlineImage, logID: Int64?, seenAt: String, _ db: Database) throws -> Bool {
    let image = stored.image
    if let response = image.response { try upsert(response: response, line: image.location.line, logID: logID, db) }
    try upsertContainer(image.containerID, respondedAt: image.response?.createdAt, seenAt: seenAt, db)
    try db.executeCached(
      sql: """
        INSERT INTO blob (digest, size, media_type, first_stored_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(digest) DO NOTHING
        """, arguments: [stored.digest.hex, stored.size, stored.mediaType, seenAt])
    let before = db.totalChangesCount
    try db.executeCached(
      sql: """
        INSERT INTO container_file (container_id, file_id, filename, source, state, digest, first_seen_at, archived_at)
        VALUES (?, ?, ?, 'log', 'archived', ?, ?, ?) ON CONFLICT(container_id, file_id) DO NOTHING
        """, arguments: [image.containerID, image.fileID, image.filename, stored.digest.hex, seenAt, seenAt])
    let isNew = db.totalChangesCount > before
    let fileRowID = try db.fetchOneCached(
      Int64.self, sql: "SELECT id FROM container_file WHERE container_id = ? AND file_id = ?",
      arguments: [image.containerID, image.fileID])
    let owner = image.response?.id ?? image.location.description
    try db.executeCached(
      sql: """
        INSERT INTO citation (citation_key, container_file_id, response_id, item_id, output_index, filename,
          start_index, end_index, log_file_id, line)
        VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?) ON CONFLICT(citation_key) DO NOTHING
        """,
      arguments: [
        "inline|\(owner)|\(image.callID)|\(image.outputIndex)", fileRowID, image.response?.id, image.callID,
        image.outputIndex, image.filename, logID, image.location.line,
      ])
    return isNew
  }

  /// The upsert of a response: what a later sighting adds fills what an earlier one lacked;
  /// the status is the latest.
  private static let responseUpsert = """
    ON CONFLICT(id) DO UPDATE SET
      created_at = coalesce(response.created_at, excluded.created_at),
      model = coalesce(response.model, excluded.model),
      status = coalesce(excluded.status, response.status),
      previous_response_id = coalesce(response.previous_response_id, excluded.previous_response_id)
    """
  private static let responseInsert =
    "INSERT INTO response (id, created_at, model, status, previous_response_id, log_file_id, line)"

  private func upsert(response: ResponseInfo, line: Int, logID: Int64?, _ db: Database) throws {
    try upsert(responses: [(response, line)], logID: logID, db)
  }

  private func upsert(responses: [(info: ResponseInfo, line: Int)], logID: Int64?, _ db: Database) throws {
    if responses.count == 1 {
      // One row (a sighting, an inline image, a log of one response): the cached statement.
      let (response, line) = responses[0]
      try db.executeCached(
        sql: Self.responseInsert + " VALUES (?, ?, ?, ?, ?, ?, ?) " + Self.responseUpsert,
        arguments: [
          response.id, response.createdAt, response.model, response.status, response.previousResponseID, logID, line,
        ])
      return
    }
    _ = try Self.insertRows(responses, Self.responseInsert, row: "(?, ?, ?, ?, ?, ?, ?)", tail: Self.responseUpsert, db)
    { [$0.info.id, $0.info.createdAt, $0.info.model, $0.info.status, $0.info.previousResponseID, logID, $0.line] }
  }

  public func archivedCount(among files: [Int64]) throws(CatalogError) -> Int {
    try read { db in
      var count = 0
      for start in stride(from: 0, to: files.count, by: 500) {
        let slice = files[start..<min(start + 500, files.count)]
        count +=
          try Int.fetchOne(
            db,
            sql: """
              SELECT count(*) FROM container_file WHERE state = 'archived'
              AND id IN (\(slice.map(String.init).joined(separator: ",")))
              """) ?? 0
      }
      return count
    }
  }

  private struct ContainerUse: Hashable {
    var id: String
    var respondedAt: Int64?
  }

  /// A container's deadline estimate only moves later: the latest use any citing response
  /// shows, plus 20 minutes (the container lives at least that long).
  private static let containerUpsert = """
    ON CONFLICT(id) DO UPDATE SET deadline_estimate =
      CASE WHEN container.deadline_estimate IS NULL THEN excluded.deadline_estimate
           WHEN excluded.deadline_estimate IS NULL THEN container.deadline_estimate
           ELSE max(container.deadline_estimate, excluded.deadline_estimate) END
    """

  private func upsertContainer(_ id: String, respondedAt: Int64?, seenAt: String, _ db: Database) throws {
    try db.executeCached(
      sql: "INSERT INTO container (id, first_seen_at, deadline_estimate) VALUES (?, ?, ?) " + Self.containerUpsert,
      arguments: [id, seenAt, Self.deadline(respondedAt: respondedAt)])
  }

  private func upsertContainers(_ uses: [ContainerUse], seenAt: String, _ db: Database) throws {
    _ = try Self.insertRows(
      uses, "INSERT INTO container (id, first_seen_at, deadline_estimate)", row: "(?, ?, ?)",
      tail: Self.containerUpsert, db
    ) { [$0.id, seenAt, Self.deadline(respondedAt: $0.respondedAt)] }
  }

  private static func deadline(respondedAt: Int64?) -> String? {
    respondedAt.map { CatalogTime.string(unixSeconds: $0 + Int64(ContainerLifetime.default)) }
  }
}
