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
      for response in contribution.responses {
        try upsertOnce(response.info, line: response.location.line)
      }
      for citation in contribution.citations {
        if let response = citation.response {
          try upsertOnce(response, line: citation.location.line)
        }
        try upsertContainerOnce(citation.file.containerID, respondedAt: citation.response?.createdAt)
      }
      outcome.newFiles += try insertCitedFiles(contribution.citations, seenAt: seenAt, db)
      var fileRows: [ContainerFileRef: Int64] = [:]
      for citation in contribution.citations {
        var fileRowID = fileRows[citation.file]
        if fileRowID == nil {
          fileRowID = try db.fetchOneCached(
            Int64.self, sql: "SELECT id FROM container_file WHERE container_id = ? AND file_id = ?",
            arguments: [citation.file.containerID, citation.file.fileID])
          fileRows[citation.file] = fileRowID
        }
        if let fileRowID { citedFiles.insert(fileRowID) }
        let known =
          try db.fetchOneCached(
            Bool.self, sql: "SELECT 1 FROM citation WHERE citation_key = ?", arguments: [citation.identity]) ?? false
        if !known { outcome.newCitations += 1 }
        try db.executeCached(
          sql: """
            INSERT INTO citation (citation_key, container_file_id, response_id, item_id, output_index, content_index,
              annotation_index, filename, start_index, end_index, cited_text, log_file_id, line)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(citation_key) DO UPDATE SET cited_text = coalesce(citation.cited_text, excluded.cited_text)
            """,
          arguments: [
            citation.identity, fileRowID, citation.response?.id, citation.itemID, citation.outputIndex,
            citation.contentIndex, citation.annotationIndex, citation.filename, citation.startIndex, citation.endIndex,
            citation.citedText, logID, citation.location.line,
          ])
      }
      for stored in contribution.inlineImages {
        if try recordInline(stored, logID: logID, seenAt: seenAt, db) { outcome.newFiles += 1 }
      }
      for sighting in contribution.sightings {
        if let response = sighting.response {
          try upsertOnce(response, line: sighting.location.line)
        }
        try upsertContainerOnce(sighting.containerID, respondedAt: sighting.response?.createdAt)
        let key =
          "\(sighting.response?.id ?? sighting.location.description)|\(sighting.callID ?? "-")|\(sighting.containerID)"
        try db.executeCached(
          sql: """
            INSERT INTO container_sighting (sighting_key, container_id, call_id, response_id, log_file_id, line)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sighting_key) DO NOTHING
            """,
          arguments: [key, sighting.containerID, sighting.callID, sighting.response?.id, logID, sighting.location.line])
      }
      try Self.countNameTrigrams(ofFilesAfter: filesBefore, db)
      outcome.citedFiles = citedFiles.sorted()
      return outcome
    }
  }

  /// Rows per INSERT of cited files: every new file of a recording goes in a few statements of
  /// many rows, not one each. The trigger that indexes names for `find` writes to FTS5, and
  /// FTS5 flushes what it holds into a new index segment at the start of every later
  /// statement of the transaction: with a file per statement, recording a log wrote (and
  /// then merged) a segment per file, two thirds of the time of a dry run over a dense log.
  static let filesPerInsert = 256

  /// Inserts the files `citations` name that the catalog does not have yet, each under the
  /// name its first citation gives it; returns how many were new.
  private func insertCitedFiles(_ citations: [Citation], seenAt: String, _ db: Database) throws -> Int {
    var seen = Set<ContainerFileRef>()
    let files = citations.filter { seen.insert($0.file).inserted }
    var inserted = 0
    for start in stride(from: 0, to: files.count, by: Self.filesPerInsert) {
      let chunk = files[start..<min(start + Self.filesPerInsert, files.count)]
      var arguments = StatementArguments()
      for citation in chunk {
        _ = arguments.append(contentsOf: [citation.file.containerID, citation.file.fileID, citation.filename, seenAt])
      }
      let sql =
        "INSERT INTO container_file (container_id, file_id, filename, source, first_seen_at) VALUES "
        + Array(repeating: "(?, ?, ?, 'cited', ?)", count: chunk.count).joined(separator: ", ")
        + " ON CONFLICT(container_id, file_id) DO NOTHING"
      if chunk.count == Self.filesPerInsert {
        try db.executeCached(sql: sql, arguments: arguments)
      } else {
        try db.execute(sql: sql, arguments: arguments)
      }
      inserted += db.changesCount
    }
    return inserted
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

  private func upsert(response: ResponseInfo, line: Int, logID: Int64?, _ db: Database) throws {
    try db.executeCached(
      sql: """
        INSERT INTO response (id, created_at, model, status, previous_response_id, log_file_id, line)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET
          created_at = coalesce(response.created_at, excluded.created_at),
          model = coalesce(response.model, excluded.model),
          status = coalesce(excluded.status, response.status),
          previous_response_id = coalesce(response.previous_response_id, excluded.previous_response_id)
        """,
      arguments: [
        response.id, response.createdAt, response.model, response.status, response.previousResponseID, logID, line,
      ])
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

  private func upsertContainer(_ id: String, respondedAt: Int64?, seenAt: String, _ db: Database) throws {
    // The latest use any citing response shows, plus 20 minutes: the container lives at least that long.
    let deadline = respondedAt.map { CatalogTime.string(unixSeconds: $0 + Int64(ContainerLifetime.default)) }
    try db.executeCached(
      sql: """
        INSERT INTO container (id, first_seen_at, deadline_estimate) VALUES (?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET deadline_estimate =
          CASE WHEN container.deadline_estimate IS NULL THEN excluded.deadline_estimate
               WHEN excluded.deadline_estimate IS NULL THEN container.deadline_estimate
               ELSE max(container.deadline_estimate, excluded.deadline_estimate) END
        """, arguments: [id, seenAt, deadline])
  }
}
