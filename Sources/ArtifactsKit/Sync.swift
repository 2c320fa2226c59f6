// `sync`: scan logs → record citations → download what is not archived yet, earliest deadline
// first → store each content once → commit to the catalog. A batch sync is one scan pass fed
// to a pipeline that then drains and stops. Every stage reports through the injected sink;
// nothing here prints.
import ArtifactsCore
import ArtifactsFetch
import ArtifactsLogScan
import Foundation

public struct SyncOptions: Sendable {
  public var paths: [String]
  /// Responses to fetch by id and read (apps that logged only ids).
  public var responseIDs: ResponseIDList?
  /// Conversations whose items are fetched and read.
  public var conversations: [String] = []
  /// Scan and record, but download nothing.
  public var dryRun: Bool
  public var pipeline: PipelineOptions
  /// Seconds to wait for a connection, and without a byte before a transfer is retried.
  public var connectTimeout: Int
  public var stallTimeout: Int

  public init(
    paths: [String], dryRun: Bool = false, pipeline: PipelineOptions = PipelineOptions(), connectTimeout: Int = 20,
    stallTimeout: Int = 60
  ) {
    self.paths = paths
    self.dryRun = dryRun
    self.pipeline = pipeline
    self.connectTimeout = connectTimeout
    self.stallTimeout = stallTimeout
  }
}

public struct SyncSummary: Sendable, Codable, Equatable {
  public var logsScanned = 0
  /// Logs skipped because they have not changed since the last sync.
  public var logsUnchanged = 0
  /// Inputs that could not be read as logs at all (unreadable, or not a log format).
  public var logsSkipped = 0
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
  /// The files not archived, at most `PipelineCounts.listLimit` of them.
  public var unarchived: [UnarchivedFile] = []
  /// Files not archived beyond those listed.
  public var unarchivedNotListed = 0

  public init() {}

  mutating func add(_ counts: PipelineCounts) {
    archived += counts.archived
    deduplicated += counts.deduplicated
    bytesDownloaded += counts.bytesDownloaded
    lost += counts.lost
    failed += counts.failed
    pending += counts.notAttempted
    handledElsewhere += counts.handledElsewhere
    uncitedFound += counts.uncitedFound
    containersGone += counts.containersGone
    containersAtRisk += counts.containersAtRisk
    keepAlives += counts.keepAlives
    unarchived += counts.unarchived
    unarchivedNotListed += counts.unarchivedNotListed
  }
}

/// Where the API is and which credentials to use, as the environment says. Read only when
/// there is something to download, so a dry run, or a run with nothing new, needs no key.
public struct APISettings: Sendable {
  public var environment: [String: String]
  public var userAgent: String
  public var caBundlePath: String?
  /// Whose API (`--provider`); nil: whichever the environment names.
  public var provider: APIProvider?

  public init(
    environment: [String: String], userAgent: String, caBundlePath: String? = nil, provider: APIProvider? = nil
  ) {
    self.environment = environment
    self.userAgent = userAgent
    self.caBundlePath = caBundlePath
    self.provider = provider
  }

  /// The certificate authorities named (`--cacert`, `SSL_CERT_FILE`, …), read and checked: a
  /// missing or non-PEM bundle is said at start, not after the logs were read.
  func trust() throws(KitError) -> TrustSettings {
    do { return try TrustSettings.from(environment: environment, extra: caBundlePath) } catch {
      throw KitError(.configuration, error.message)
    }
  }

  /// `trust`: from `trust()` when it was checked already, so the bundles are read once.
  func configuration(trust: TrustSettings? = nil, connectTimeout: Int = 20, stallTimeout: Int = 60) throws(KitError)
    -> APIConfiguration
  {
    do {
      var configuration = try APIConfiguration.fromEnvironment(
        environment, userAgent: userAgent, caBundlePath: caBundlePath, trust: trust,
        provider: provider.map { APIConfiguration.Provider(rawValue: $0.rawValue)! })
      configuration.connectTimeout = connectTimeout
      configuration.stallTimeout = stallTimeout
      return configuration
    } catch {
      throw KitError(.configuration, error.message)
    }
  }
}

/// Whose API the files are fetched from.
public enum APIProvider: String, Sendable, CaseIterable {
  /// OpenAI (`OPENAI_API_KEY`), or an OpenAI-compatible server at `OPENAI_BASE_URL`.
  case openai
  /// Azure OpenAI / Foundry (`AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` or `AZURE_OPENAI_AD_TOKEN`).
  case azure
}

public struct Sync: Sendable {
  public let store: ArtifactStore
  public let sink: any EventSink
  public let api: APISettings
  public let clock: any WallClock

  public init(store: ArtifactStore, sink: any EventSink, api: APISettings, clock: any WallClock = SystemClock()) {
    self.store = store
    self.sink = sink
    self.api = api
    self.clock = clock
  }

  public func run(_ options: SyncOptions) async throws(KitError) -> SyncSummary {
    let store = self.store
    let fetching = options.responseIDs != nil || !options.conversations.isEmpty
    let trust = options.dryRun && !fetching ? nil : try api.trust()
    // The identities the catalog holds are read while the walk runs, on another thread: for
    // 100,000 unchanged logs each takes a third of the run.
    async let known = Self.knownIdentities(store, walking: options.paths)
    let (files, identities, missing) = await blocking { LogDiscovery.logFilesWithIdentities(in: options.paths) }
    let walked = ScanPass.Walked(identities: identities, known: await known)
    if !missing.isEmpty {
      throw KitError(.missingInput, "no such file or directory: \(missing.joined(separator: ", "))")
    }
    await blocking { _ = store.staging.removeAbandoned() }

    var summary = SyncSummary()
    let pass = ScanPass(store: store, sink: sink, clock: clock)
    // Responses fetched by id need the API before any log is read; the same engine then
    // downloads what they cite.
    var pipeline: Pipeline?
    var fetched = ScanPass.Found()
    if fetching {
      let configuration = try api.configuration(
        trust: trust, connectTimeout: options.connectTimeout, stallTimeout: options.stallTimeout)
      let started = try Pipeline(
        store: store, sink: sink, options: options.pipeline, configuration: configuration, clock: clock)
      started.start()
      pipeline = started
      let source = StoredResponses(
        store: store, sink: sink, engine: started.engine, concurrency: options.pipeline.jobs)
      let documents: [(location: String, bytes: [UInt8])]
      do {
        documents = try await source.fetch(
          ids: options.responseIDs, conversations: options.conversations, into: &summary)
      } catch {
        _ = try? await started.finish()
        throw error
      }
      do { fetched = try await pass.run(documents: documents, into: &summary) } catch {
        _ = try? await started.finish()
        throw error
      }
    }
    do {
      return try await scanAndDownload(
        files, walked: walked, options: options, trust: trust, pipeline: pipeline, fetched: fetched, summary: summary)
    } catch {
      // The run stops here: downloads started for fetched responses stop with it.
      if let pipeline { _ = try? await pipeline.finish() }
      throw error
    }
  }

  /// The catalog's identities of the logs it has read, when `paths` name a directory (a walk
  /// that may find many logs); nil otherwise, or when they cannot be read (the scan then asks
  /// again, and reports why).
  private static func knownIdentities(_ store: ArtifactStore, walking paths: [String]) async -> [String:
    LogFileIdentity]?
  {
    await blocking {
      let directory = paths.contains { path in
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
      }
      return directory ? try? store.catalog.logIdentities() : nil
    }
  }

  private func scanAndDownload(
    _ files: [String], walked: ScanPass.Walked, options: SyncOptions, trust: TrustSettings?,
    pipeline started: Pipeline?,
    fetched: ScanPass.Found, summary start: SyncSummary
  ) async throws(KitError) -> SyncSummary {
    let store = self.store
    var summary = start
    var pipeline = started
    let pass = ScanPass(store: store, sink: sink, clock: clock)
    var found = try await pass.run(files, walked: walked, into: &summary)
    found.containers.formUnion(fetched.containers)
    if !files.isEmpty && summary.logsSkipped == files.count {
      throw KitError(
        .missingInput,
        files.count == 1
          ? "\(files[0]) could not be read as a log; nothing was recorded"
          : "none of the \(files.count) inputs could be read as a log; nothing was recorded")
    }
    let pageSize = Self.pageSize
    let work = try await blocking { () throws(KitError) in
      try backend { try store.catalog.pendingWork(after: 0, limit: pageSize) }
    }
    let needsListing = options.pipeline.citedOnly ? [] : found.containers
    if options.dryRun || (work.isEmpty && needsListing.isEmpty) {
      if let pipeline { _ = try await pipeline.finish() }
      summary.pending =
        work.count < pageSize
        ? work.count
        : try await blocking { () throws(KitError) in
          try backend { try store.catalog.pendingCount() }
        }
      return summary
    }
    // A queue longer than a page is said once, so progress counts against all of it.
    let total =
      work.count == pageSize
      ? try await blocking { () throws(KitError) in try backend { try store.catalog.pendingCount() } } : nil
    if pipeline == nil {
      let configuration = try api.configuration(
        trust: trust, connectTimeout: options.connectTimeout, stallTimeout: options.stallTimeout)
      pipeline = try Pipeline(
        store: store, sink: sink, options: options.pipeline, configuration: configuration, clock: clock)
      pipeline?.start()
    }
    guard let pipeline else { return summary }
    let paged = total != nil
    if let total { sink.emit(.downloadPlanned(files: total)) }
    await pipeline.feed(work, containers: needsListing, announced: paged)
    // The rest of the queue a page at a time, each read once the one before has mostly been
    // handed out: a run holds at most two pages of files however long the queue is, and the
    // first downloads start after one page is read, not the whole queue.
    var page = work
    while page.count == pageSize, pipeline.canGoOn, let last = page.last?.rowID {
      await pipeline.waitForRoom(below: pageSize)
      do {
        page = try await blocking { () throws(KitError) in
          try backend { try store.catalog.pendingWork(after: last, limit: pageSize) }
        }
      } catch {
        _ = try? await pipeline.finish()
        throw error
      }
      await pipeline.feed(page, containers: [], announced: paged)
    }
    summary.add(try await pipeline.finish())
    return summary
  }

  /// Files read from the queue at a time.
  static let pageSize = 2000
}
