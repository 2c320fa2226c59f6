// One scan pass: every log that changed since it was last read is read (from where it was
// left, when it only grew) and what it holds is recorded with its new checkpoint in one
// transaction, so a crash mid-pass leaves each log either recorded or to be read again.
import ArtifactsCore
import ArtifactsLogScan
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

struct ScanPass: Sendable {
  /// Citations, sightings and responses held before a long log's findings are recorded.
  static let segmentSize = 2048

  let store: ArtifactStore
  let sink: any EventSink
  let clock: any WallClock
  /// Logs are being written as they are read (a watch): an empty log or an unfinished last
  /// line is the normal state between two writes, not worth a warning.
  var logsMayBeUnfinished = false
  /// A watcher's pass over the few logs that just changed: a log that vanished was rotated
  /// or deleted (its history stays), and only what was read is reported.
  var watching = false

  /// Segments of long logs recorded while they were read, counted once the log is done.
  private let segments = RecordedSegments()

  /// What a pass found that the downloader needs.
  struct Found: Sendable {
    /// Containers seen in the logs read (cited, or named by a code_interpreter_call).
    var containers = Set<String>()
    /// Files cited in the logs read (a watcher's pass: what it feeds the downloader).
    var cited = Set<ContainerFileRef>()
    /// The same files by catalog row id, for counting them (every pass).
    var citedRows = Set<Int64>()

    /// Adds what `other` found; an empty set takes the other's as it is (no copy of a long
    /// log's sets into empty ones).
    mutating func merge(_ other: Found) {
      func union<Element>(_ mine: inout Set<Element>, _ theirs: Set<Element>) {
        if mine.isEmpty { mine = theirs } else { mine.formUnion(theirs) }
      }
      union(&containers, other.containers)
      union(&cited, other.cited)
      union(&citedRows, other.citedRows)
    }
  }

  /// What the walk that found the logs already knows of them.
  struct Walked: Sendable {
    /// Each file's identity as the walk saw it (`LogDiscovery.logFilesWithIdentities`), in
    /// the order of the files: an unchanged log then costs no second stat.
    var identities: [LogFileIdentity?]
    /// The catalog's identities of the logs it has read, fetched while the walk ran.
    var known: [String: LogFileIdentity]?
  }

  /// Scans and records `files`, counting into `summary`. The whole pass is one hop off the
  /// cooperative pool: a resync of 100,000 unchanged logs is 100,000 `stat`s, and a hop per
  /// log would cost more than they do. Without `walked`, each file is stat'ed here.
  func run(_ files: [String], walked: Walked? = nil, into summary: inout SyncSummary)
    async throws(KitError) -> Found
  {
    let start = summary
    let (counted, found) = try await blocking { () throws(KitError) -> (SyncSummary, Found) in
      var counted = start
      let found = try self.scanAll(files, walked: walked, into: &counted)
      return (counted, found)
    }
    summary = counted
    return found
  }

  private func scanAll(_ files: [String], walked: Walked?, into summary: inout SyncSummary)
    throws(KitError) -> Found
  {
    var found = Found()
    // For a few logs, each one's checkpoint is read as needed; for many, all identities at
    // once, so an unchanged log costs a `stat` and no query.
    let identities =
      if let known = walked?.known { known } else if files.count > 64 {
        try backend { try store.catalog.logIdentities() }
      } else { [String: LogFileIdentity]() }
    if !watching { sink.emit(.scanPlanned(logs: files.count)) }
    for (index, path) in files.enumerated() {
      let outcome = try scan(path, known: identities[path], walked: walked?.identities[index])
      // Segments recorded while the log was read count whatever became of the rest of it.
      let recorded = segments.take()
      summary.citationsFound += recorded.citations
      summary.newCitations += recorded.newCitations
      summary.inlineImages += recorded.inlineImages
      found.merge(recorded.found)
      switch outcome {
      case .unstattable where watching:
        continue
      case .unstattable:
        sink.emit(.diagnostic(Diagnostic(.error, "cannot be read (stat failed); skipped", file: path)))
        summary.warnings += 1
        summary.logsSkipped += 1
      case .unchanged:
        summary.logsUnchanged += 1
        if !watching { sink.emit(.logScanned(path: path, records: 0, citations: 0, skipped: 0, unchanged: true)) }
      case .read(let result, _, _) where watching && Self.couldNotRead(result) && LogFileStatus.read(path: path) == nil:
        continue  // rotated or deleted between its stat and its reading
      case .read(let result, let recorded, let inlineImages):
        tally(result, recorded, inlineImages: inlineImages, path: path, into: &summary, found: &found)
      }
    }
    try countCited(found, into: &summary)
    return found
  }

  /// Reads documents fetched from the API (stored responses, conversations) as logs whose
  /// location is their URL: `documents` are (URL, bytes). Nothing is checkpointed: each is
  /// read once, as fetched.
  func run(documents: [(location: String, bytes: [UInt8])], into summary: inout SyncSummary) async throws(KitError)
    -> Found
  {
    let start = summary
    let (counted, found) = try await blocking { () throws(KitError) -> (SyncSummary, Found) in
      var counted = start
      var found = Found()
      for document in documents {
        let result = LogScanner().scan(bytes: document.bytes, name: document.location)
        let (recorded, inline) = try self.record(result, path: document.location, checkpoint: nil)
        self.tally(result, recorded, inlineImages: inline, path: document.location, into: &counted, found: &found)
      }
      try self.countCited(found, into: &counted)
      return (counted, found)
    }
    summary = counted
    return found
  }

  private func tally(
    _ result: LogScanResult, _ recorded: RecordOutcome, inlineImages: Int, path: String,
    into summary: inout SyncSummary,
    found: inout Found
  ) {
    for diagnostic in result.findings.diagnostics { sink.emit(.diagnostic(diagnostic)) }
    if Self.couldNotRead(result) { summary.logsSkipped += 1 } else { summary.logsScanned += 1 }
    summary.records += result.records
    summary.skippedRecords += result.skippedRecords
    summary.warnings += result.findings.diagnostics.count
    count(result.findings, recorded, inlineImages, into: &summary, found: &found)
    sink.emit(
      .logScanned(
        path: path, records: result.records, citations: result.findings.citations.count,
        skipped: result.skippedRecords, unchanged: false))
  }

  /// What one recorded batch of findings adds to the summary and to what the downloader needs.
  private func count(
    _ findings: LogFindings, _ recorded: RecordOutcome, _ inlineImages: Int, into summary: inout SyncSummary,
    found: inout Found
  ) {
    summary.citationsFound += findings.citations.count
    summary.newCitations += recorded.newCitations
    summary.inlineImages += inlineImages
    found.citedRows.formUnion(recorded.citedFiles)
    for citation in findings.citations {
      if watching { found.cited.insert(citation.file) }
      found.containers.insert(citation.file.containerID)
    }
    for sighting in findings.sightings { found.containers.insert(sighting.containerID) }
  }

  private func countCited(_ found: Found, into summary: inout SyncSummary) throws(KitError) {
    summary.filesCited += found.citedRows.count
    summary.alreadyArchived += try backend { try store.catalog.archivedCount(among: Array(found.citedRows)) }
  }

  /// A log that could not be read at all, or is not a log: nothing in it was recorded.
  static func couldNotRead(_ result: LogScanResult) -> Bool {
    result.format == .unrecognized || result.findings.diagnostics.contains { $0.severity == .error && $0.isFileLevel }
  }

  enum Outcome: Sendable {
    case unstattable
    case unchanged
    case read(LogScanResult, RecordOutcome, inlineImages: Int)
  }

  /// Reads and records one log (blocking: file reads, hashing, SQLite).
  private func scan(_ path: String, known: LogFileIdentity?, walked: LogFileIdentity?) throws(KitError) -> Outcome {
    // The log is opened once: its identity, its head and its bytes all come from that one
    // open file, so a rotation between looking and reading (rename and create) cannot pair
    // one file's identity with another's bytes. (A log that cannot be opened is read by its
    // name all the same, so the scanner says why it failed.)
    // An unchanged log costs one stat (the walk's, when it took one): only a log to be read
    // is opened.
    if let known, (walked ?? LogFileStatus.read(path: path)) == known { return .unchanged }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    defer { if descriptor >= 0 { close(descriptor) } }
    let opened = descriptor >= 0 ? LogFileStatus.read(descriptor: descriptor) : nil
    guard let status = opened ?? LogFileStatus.read(path: path) else { return .unstattable }
    if known == status { return .unchanged }
    // The head is read once, before the bytes are: both the decision to resume and the new
    // checkpoint's fingerprint come from it. Fingerprinted after the read instead, a log
    // truncated and rewritten meanwhile (copytruncate) would leave the new head beside the
    // old content's offset, and the next scan would resume past lines it never read; taken
    // first, a rewrite during the read only means the next scan reads it all again.
    let head = opened != nil ? IncrementalScan.head(descriptor: descriptor) : nil
    let previous = try backend { try store.catalog.logCheckpoint(path: path) }
    let plan = IncrementalScan.plan(head: head ?? [], status: status, previous: previous)
    if plan == .unchanged { return .unchanged }
    let resume: ResumePoint? = if case .resume(let point) = plan { point } else { nil }
    let fingerprint = head.map(IncrementalScan.fingerprint(of:))
    var scanner = LogScanner()
    scanner.warnsOfUnfinishedLogs = !logsMayBeUnfinished
    // A log citing many files is recorded a segment at a time, each with the checkpoint of
    // where it ends (as if the log had ended there), so memory stays bounded and a run
    // stopped midway resumes after the last segment recorded.
    var failure: KitError?
    let result = scanner.scan(
      path: path, resume: resume, readingFrom: opened != nil ? Self.openFile(descriptor) : nil,
      segmentSize: Self.segmentSize
    ) { segment in
      // (A log whose head could not be read keeps no checkpoint: it is read whole next time.)
      let partial = fingerprint.map { fingerprint in
        LogCheckpoint(
          device: status.device, inode: status.inode, size: segment.consumedBytes,
          modifiedNanoseconds: status.modifiedNanoseconds, headFingerprint: fingerprint,
          bytesConsumed: segment.consumedBytes, linesConsumed: segment.consumedLines, format: .jsonLines,
          compressed: false, streamResponse: nil)
      }
      do throws(KitError) {
        let (recorded, inline) = try self.record(segment.findings, path: path, format: .jsonLines, checkpoint: partial)
        segments.add(RecordedSegment(segment.findings, recorded, inlineImages: inline, keepingNames: self.watching))
        return true
      } catch {
        failure = error
        return false
      }
    }
    if let failure { throw failure }
    // A log that could not be read at all keeps no checkpoint, so the next run tries again.
    var checkpoint: LogCheckpoint?
    if let fingerprint, !Self.couldNotRead(result) {
      checkpoint = self.checkpoint(for: result, status: status, fingerprint: fingerprint)
    }
    let (recorded, inline) = try record(result, path: path, checkpoint: checkpoint)
    return .read(result, recorded, inlineImages: inline)
  }

  /// Records what a scan found, with the log's new checkpoint, in one transaction; returns
  /// that outcome and how many images the log carried.
  private func record(_ result: LogScanResult, path: String, checkpoint: LogCheckpoint?) throws(KitError) -> (
    RecordOutcome, Int
  ) {
    try record(result.findings, path: path, format: result.format, checkpoint: checkpoint)
  }

  private func record(_ findings: LogFindings, path: String, format: LogFormat, checkpoint: LogCheckpoint?)
    throws(KitError) -> (RecordOutcome, Int)
  {
    // Images are stored and recorded under the store's shared lock, so gc cannot take a blob
    // whose row is not committed yet.
    let lock = findings.inlineImages.isEmpty ? nil : try store.sharedLockWaiting()
    defer { lock?.release() }
    let inline = try storeInlineImages(findings.inlineImages)
    let contribution = LogContribution(
      path: path, format: format, citations: findings.citations,
      sightings: findings.sightings, responses: findings.responses, inlineImages: inline,
      checkpoint: checkpoint)
    let now = clock.now()
    return (try backend { try store.catalog.record(contribution, now: now) }, inline.count)
  }

  /// A path that opens the file `descriptor` has open, whatever its name is now.
  static func openFile(_ descriptor: Int32) -> String {
    #if os(Linux)
      "/proc/self/fd/\(descriptor)"
    #else
      "/dev/fd/\(descriptor)"
    #endif
  }

  private func checkpoint(for result: LogScanResult, status: LogFileStatus, fingerprint: String) -> LogCheckpoint {
    LogCheckpoint(
      device: status.device, inode: status.inode, size: status.size, modifiedNanoseconds: status.modifiedNanoseconds,
      headFingerprint: fingerprint, bytesConsumed: result.consumedBytes, linesConsumed: result.consumedLines,
      format: result.format, compressed: result.compressed, streamResponse: result.streamResponse)
  }

  /// Images carried in the log are stored like downloads (content-addressed, deduplicated)
  /// before the catalog records them.
  private func storeInlineImages(_ images: [InlineImage]) throws(KitError) -> [StoredInlineImage] {
    try images.map { image throws(KitError) in
      try backend {
        let staged = try store.staging.stage(bytes: image.bytes)
        _ = try store.blobs.put(stagedPath: staged.path, digest: staged.digest, size: staged.size)
        return StoredInlineImage(
          image: image, digest: staged.digest, size: staged.size,
          mediaType: MediaType.sniff(prefix: Array(image.bytes.prefix(512)), filename: image.filename))
      }
    }
  }
}

/// What a recorded segment adds to the pass's counts (not the findings themselves: those are
/// let go once recorded).
struct RecordedSegment: Sendable {
  var citations: Int
  var newCitations: Int
  var inlineImages: Int
  var cited: Set<ContainerFileRef>
  var citedRows: [Int64]
  var containers: Set<String>

  init(_ findings: LogFindings, _ recorded: RecordOutcome, inlineImages: Int, keepingNames: Bool) {
    citations = findings.citations.count
    newCitations = recorded.newCitations
    self.inlineImages = inlineImages
    cited = keepingNames ? Set(findings.citations.map(\.file)) : []
    citedRows = recorded.citedFiles
    containers = Set(findings.citations.map(\.file.containerID) + findings.sightings.map(\.containerID))
  }
}

/// The segments of the log being read, added up as each is recorded and emptied after the
/// log: a long log's segments are summed, never listed (a list held every segment's files
/// and containers a second time until the log's end).
final class RecordedSegments: Sendable {
  struct Totals: Sendable {
    var citations = 0
    var newCitations = 0
    var inlineImages = 0
    var found = ScanPass.Found()
  }

  private let totals = Mutex(Totals())

  func add(_ segment: RecordedSegment) {
    totals.withLock { totals in
      totals.citations += segment.citations
      totals.newCitations += segment.newCitations
      totals.inlineImages += segment.inlineImages
      totals.found.cited.formUnion(segment.cited)
      totals.found.citedRows.formUnion(segment.citedRows)
      totals.found.containers.formUnion(segment.containers)
    }
  }

  func take() -> Totals {
    totals.withLock { totals in
      defer { totals = Totals() }
      return totals
    }
  }
}
