// `sync`: scan logs → record citations → download what is not archived yet, earliest deadline
// first → store each content once → commit to the catalog. Every stage reports through the
// injected sink; nothing here prints.
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsFetch
import ArtifactsLogScan
import ArtifactsStore
import Dispatch
import Foundation

public struct SyncOptions: Sendable {
  /// Downloads in flight when `--jobs` is not given: each file costs a round trip.
  public static let defaultJobs = 16

  public var paths: [String]
  public var jobs: Int
  /// Scan and record, but download nothing.
  public var dryRun: Bool
  public var retryPolicy: RetryPolicy

  /// Refresh containers whose files are still waiting when their deadline comes near.
  public var keepAlive: Bool
  /// Do not list containers for files no citation names.
  public var citedOnly: Bool
  /// Seconds to wait for a connection, and without a byte before a transfer is retried.
  public var connectTimeout: Int
  public var stallTimeout: Int

  public init(
    paths: [String], jobs: Int = SyncOptions.defaultJobs, dryRun: Bool = false,
    retryPolicy: RetryPolicy = RetryPolicy(),
    keepAlive: Bool = true, citedOnly: Bool = false, connectTimeout: Int = 20, stallTimeout: Int = 60
  ) {
    self.paths = paths
    self.jobs = jobs
    self.dryRun = dryRun
    self.retryPolicy = retryPolicy
    self.keepAlive = keepAlive
    self.citedOnly = citedOnly
    self.connectTimeout = connectTimeout
    self.stallTimeout = stallTimeout
  }
}

/// A cited file that this run could not archive.
public struct UnarchivedFile: Sendable, Codable, Equatable {
  public var containerID: String
  public var fileID: String
  public var filename: String
  public var state: String
  public var reason: String
}

public struct SyncSummary: Sendable, Codable, Equatable {
  public var logsScanned = 0
  /// Logs skipped because they have not changed since the last sync.
  public var logsUnchanged = 0
  /// Images taken from the logs themselves (`data:` URLs in code_interpreter_call outputs).
  public var inlineImages = 0
  public var records = 0
  public var skippedRecords = 0
  public var warnings = 0
  /// Citations in the logs read by this run (repeats of one annotation count once).
  public var citationsFound = 0
  /// Distinct container files those citations name.
  public var filesCited = 0
  public var newCitations = 0
  /// Files downloaded and stored by this run.
  public var archived = 0
  /// Of `archived`, those whose bytes the store already had.
  public var deduplicated = 0
  /// Cited files that an earlier run had archived already.
  public var alreadyArchived = 0
  public var lost = 0
  public var failed = 0
  /// Files left pending (a dry run, or a run stopped early).
  public var pending = 0
  /// Files found by listing containers that no citation names (`source: uncited`).
  public var uncitedFound = 0
  /// Containers the API said were gone, and the waiting files lost with them.
  public var containersGone = 0
  /// Containers that had less than a third of their lifetime left when the run planned them.
  public var containersAtRisk = 0
  /// Refreshes of containers whose files were still waiting.
  public var keepAlives = 0
  /// Files another sync running on the same store took care of.
  public var handledElsewhere = 0
  public var bytesDownloaded: Int64 = 0
  public var unarchived: [UnarchivedFile] = []

  public init() {}
}

/// Where the API is and which credentials to use, as the environment says. Read only when
/// there is something to download, so a dry run, or a run with nothing new, needs no key.
public struct APISettings: Sendable {
  public var environment: [String: String]
  public var userAgent: String
  public var caBundlePath: String?

  public init(environment: [String: String], userAgent: String, caBundlePath: String? = nil) {
    self.environment = environment
    self.userAgent = userAgent
    self.caBundlePath = caBundlePath
  }

  func configuration() throws(KitError) -> APIConfiguration {
    do {
      return try APIConfiguration.fromEnvironment(environment, userAgent: userAgent, caBundlePath: caBundlePath)
    } catch {
      throw KitError(.configuration, error.message)
    }
  }
}

public struct Sync: Sendable {
  public let store: ArtifactStore
  public let sink: any EventSink
  public let api: APISettings

  public init(store: ArtifactStore, sink: any EventSink, api: APISettings) {
    self.store = store
    self.sink = sink
    self.api = api
  }

  public func run(_ options: SyncOptions) async throws(KitError) -> SyncSummary {
    var summary = SyncSummary()
    let (files, missing) = LogDiscovery.logFiles(in: options.paths)
    if !missing.isEmpty {
      throw KitError(.missingInput, "no such file or directory: \(missing.joined(separator: ", "))")
    }
    let lock = try store.sharedLock()
    defer { lock.release() }
    store.blobs.removeAbandonedTemporaryFiles()

    let (citedFiles, containersSeen) = try await scan(files, into: &summary)
    let states = try catalogCall { () throws(CatalogError) in try store.catalog.states(of: citedFiles) }
    let work = try catalogCall { () throws(CatalogError) in try store.catalog.pendingWork() }
    summary.alreadyArchived = citedFiles.filter { states[$0] == .archived }.count
    let needsListing = options.citedOnly ? [] : containersSeen
    if options.dryRun || (work.isEmpty && needsListing.isEmpty) {
      summary.pending = work.count
      return summary
    }
    var configuration = try api.configuration()
    configuration.connectTimeout = options.connectTimeout
    configuration.stallTimeout = options.stallTimeout
    try await Download(store: store, sink: sink, options: options, configuration: configuration)
      .run(work: work, listing: needsListing, into: &summary)
    return summary
  }

  // MARK: Scanning

  /// Scans and records every log; returns the files cited and the containers seen.
  private func scan(_ files: [String], into summary: inout SyncSummary) async throws(KitError)
    -> (Set<ContainerFileRef>, Set<String>)
  {
    var cited = Set<ContainerFileRef>()
    var containers = Set<String>()
    let scanner = LogScanner()
    let identities = try catalogCall { () throws(CatalogError) in try store.catalog.logIdentities() }
    sink.emit(.scanPlanned(logs: files.count))
    for path in files {
      guard let status = LogFileStatus.read(path: path) else {
        sink.emit(.diagnostic(Diagnostic(.error, "cannot stat \(path); skipped")))
        summary.warnings += 1
        continue
      }
      var plan = ScanPlan.unchanged
      if identities[path] != status {
        let previous = try catalogCall { () throws(CatalogError) in try store.catalog.logCheckpoint(path: path) }
        plan = IncrementalScan.plan(path: path, status: status, previous: previous)
      }
      if plan == .unchanged {
        summary.logsUnchanged += 1
        sink.emit(.logScanned(path: path, records: 0, citations: 0, skipped: 0, unchanged: true))
        continue
      }
      let resume: ResumePoint? = if case .resume(let point) = plan { point } else { nil }
      let result = await offThePool { scanner.scan(path: path, resume: resume) }
      for diagnostic in result.findings.diagnostics { sink.emit(.diagnostic(diagnostic)) }
      let inline = try storeInlineImages(result.findings.inlineImages)
      // A log that could not be read at all keeps no checkpoint, so the next run tries again.
      let readable = !result.findings.diagnostics.contains { $0.severity == .error && $0.location == nil }
      let checkpoint = readable ? checkpoint(for: result, status: status, path: path) : nil
      let contribution = LogContribution(
        path: path, format: result.format.rawValue, citations: result.findings.citations,
        sightings: result.findings.sightings, responses: result.findings.responses, inlineImages: inline,
        checkpoint: checkpoint)
      let recorded = try catalogCall { () throws(CatalogError) in try store.catalog.record(contribution) }
      summary.logsScanned += 1
      summary.records += result.records
      summary.skippedRecords += result.skippedRecords
      summary.warnings += result.findings.diagnostics.count
      summary.citationsFound += result.findings.citations.count
      summary.newCitations += recorded.newCitations
      summary.inlineImages += inline.count
      for citation in result.findings.citations {
        cited.insert(citation.file)
        containers.insert(citation.file.containerID)
      }
      for sighting in result.findings.sightings { containers.insert(sighting.containerID) }
      sink.emit(
        .logScanned(
          path: path, records: result.records, citations: result.findings.citations.count,
          skipped: result.skippedRecords, unchanged: false))
    }
    summary.filesCited = cited.count
    return (cited, containers)
  }

  private func checkpoint(for result: LogScanResult, status: LogFileStatus, path: String) -> LogCheckpoint? {
    guard let fingerprint = IncrementalScan.fingerprint(path: path) else { return nil }
    return LogCheckpoint(
      device: status.device, inode: status.inode, size: status.size, modifiedNanoseconds: status.modifiedNanoseconds,
      headFingerprint: fingerprint, bytesConsumed: result.consumedBytes, linesConsumed: result.consumedLines,
      format: result.format.rawValue, compressed: result.compressed, streamResponse: result.streamResponse)
  }

  /// Images carried in the log are stored like downloads (content-addressed, deduplicated)
  /// before the catalog records them.
  private func storeInlineImages(_ images: [InlineImage]) throws(KitError) -> [StoredInlineImage] {
    var stored: [StoredInlineImage] = []
    for image in images {
      do {
        let outcome = try store.blobs.ingest(bytes: image.bytes)
        stored.append(
          StoredInlineImage(
            image: image, digest: outcome.digest, size: outcome.size,
            mediaType: MediaType.sniff(prefix: Array(image.bytes.prefix(512)), filename: image.filename)))
      } catch {
        throw KitError(.unusableStore, error.description)
      }
    }
    return stored
  }
}

/// Runs blocking work (file I/O, SQLite, fsync) on a Dispatch queue rather than on Swift's
/// cooperative pool, whose few threads must never block.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(returning: body()) }
  }
}

/// Catalog errors surface as an unusable store.
func catalogCall<T>(_ body: () throws(CatalogError) -> T) throws(KitError) -> T {
  do { return try body() } catch { throw KitError(.unusableStore, error.description) }
}
