// The downloader: one transfer engine and one scheduler for as long as the process runs, fed
// by scan passes whenever they find work. A batch `sync` is one pass, then `finish` (drain,
// stop); a watcher keeps feeding. Each container is probed before any of its files is asked
// for (the server's own clock refines its deadline, and a container it says is gone loses its
// files with one request instead of one each) and listed for files no citation names; files
// drain earliest deadline first while containers whose files still wait are kept alive, and
// every file in flight is held by a lease in the catalog that is renewed until it is done.
import ArtifactsCore
import ArtifactsFetch
import ArtifactsStore
import Foundation
import Synchronization

public struct PipelineOptions: Sendable {
  /// Downloads in flight when `--jobs` is not given: each file costs a round trip.
  public static let defaultJobs = 16

  public var jobs: Int
  public var retryPolicy: RetryPolicy
  /// Refresh containers whose files are still waiting when their deadline comes near.
  public var keepAlive: Bool
  /// Do not list containers for files no citation names.
  public var citedOnly: Bool
  /// How long a claim holds a file without being renewed: a run killed mid-transfer frees its
  /// files this long after its last renewal (well inside a container's 20-minute life).
  public var leaseSeconds: Double

  public init(
    jobs: Int = PipelineOptions.defaultJobs, retryPolicy: RetryPolicy = RetryPolicy(), keepAlive: Bool = true,
    citedOnly: Bool = false, leaseSeconds: Double = 60
  ) {
    self.jobs = jobs
    self.retryPolicy = retryPolicy
    self.keepAlive = keepAlive
    self.citedOnly = citedOnly
    self.leaseSeconds = leaseSeconds
  }
}

/// A cited file that this run could not archive.
public struct UnarchivedFile: Sendable, Codable, Equatable {
  public var containerID: String
  public var fileID: String
  public var filename: String
  public var state: FileState
  public var reason: String
  public var reasonKind: UnarchivedReason.Kind
}

/// What the downloader did, counted as it happens: nothing per file is kept but the few
/// files that could not be archived, and only up to `PipelineCounts.listLimit` of those.
public struct PipelineCounts: Sendable, Equatable {
  public static let listLimit = 1000

  public var archived = 0
  public var deduplicated = 0
  public var bytesDownloaded: Int64 = 0
  public var lost = 0
  public var failed = 0
  public var notAttempted = 0
  public var handledElsewhere = 0
  public var uncitedFound = 0
  public var containersGone = 0
  public var containersAtRisk = 0
  public var keepAlives = 0
  /// Files this run could not archive, sorted by container and file; at most `listLimit`.
  public var unarchived: [UnarchivedFile] = []
  /// Those left out of `unarchived` once it was full.
  public var unarchivedNotListed = 0
}

public final class Pipeline: Sendable {
  let store: ArtifactStore
  let sink: any EventSink
  let options: PipelineOptions
  let clock: any WallClock
  let engine: TransferEngine
  let scheduler = WorkScheduler()
  private let counts = Mutex(PipelineCounts())
  /// The first failure of the store itself: it stops the run.
  private let storeFailure = Mutex<KitError?>(nil)
  /// Files whose leases must be renewed while their transfers run.
  private let inFlight = Mutex<[Int64: WorkItem]>([:])
  /// The workers, and the tasks beside them (keep-alive, lease renewal).
  private let tasks = Mutex<[Task<Void, Never>]>([])
  private let background = Mutex<[Task<Void, Never>]>([])
  /// Told once when the run cannot go on, so a watcher stops waiting for logs.
  private let whenFailed = Mutex<[@Sendable () -> Void]>([])
  private let leaseOwner: String
  /// Claims and commits asked for by the workers one file at a time, done a batch at a time.
  private let claims: GroupCommit<WorkItem, ClaimAnswer>
  private let commits: GroupCommit<Ingest, FileResult>
  /// Files between their claim and the end of their download: twice `--jobs`, so the next
  /// file of each transfer slot is claimed while the current one downloads (a claim waits its
  /// turn at the catalog; measured, 10,000 files took 2.56 s with one claim per slot and
  /// 2.15 s with two). There are more workers than that, so while some wait for their group
  /// commit, others keep every slot busy.
  private let downloadSlots: Slots

  /// Opens the engine (libcurl is loaded here). Nothing runs until `start`.
  public init(
    store: ArtifactStore, sink: any EventSink, options: PipelineOptions, configuration: APIConfiguration,
    clock: any WallClock = SystemClock()
  ) throws(KitError) {
    self.store = store
    self.sink = sink
    self.options = options
    self.clock = clock
    do {
      engine = try TransferEngine(
        configuration: configuration, maximumConcurrent: options.jobs, policy: options.retryPolicy,
        onRetry: { file, attempt, reason, delay in
          if let file { sink.emit(.retrying(file: file, attempt: attempt, reason: reason, delaySeconds: delay)) }
        })
    } catch {
      throw KitError(.configuration, error.message)
    }
    let leaseOwner = store.staging.runID
    self.leaseOwner = leaseOwner
    downloadSlots = Slots(max(2, options.jobs * 2))
    let batch = max(options.jobs * 8, 16)
    let leaseSeconds = options.leaseSeconds
    claims = GroupCommit(maximumBatch: batch) { items in
      await blocking {
        Pipeline.claim(items, store: store, lease: Lease(owner: leaseOwner, now: clock.now(), duration: leaseSeconds))
      }
    }
    commits = GroupCommit(maximumBatch: batch) { batch in
      await blocking { Pipeline.commit(batch, store: store, sink: sink, now: clock.now()) }
    }
  }

  /// Starts the workers, keep-alive and lease renewal.
  public func start() {
    start(workers: max(options.jobs * 8, 16))
  }

  /// With `workers: 0` (tests), nothing is downloaded: containers are probed and kept alive.
  func start(workers: Int) {
    var started: [Task<Void, Never>] = []
    for _ in 0..<workers {
      started.append(
        Task {
          while self.canGoOn {
            // A slot first, then a file: at most twice `--jobs` files are claimed at once.
            await self.downloadSlots.acquire()
            guard self.canGoOn, let item = await self.scheduler.next() else {
              await self.downloadSlots.release()
              break
            }
            let result = await self.transfer(item)
            self.count(result)
            await self.scheduler.finished(item)
          }
          if !self.canGoOn {
            // Nothing more is handed out: a feeder waiting for room in the queue stops too.
            await self.scheduler.stop()
            self.reportFailure()
          }
        })
    }
    tasks.withLock { $0 = started }
    background.withLock { background in
      if options.keepAlive { background.append(Task { await self.keepAlive() }) }
      background.append(Task { await self.renewLeases() })
    }
  }

  /// Adds work: files to download and the containers they (or the logs) name. New containers
  /// are probed first, then listed for uncited files; their files start as each probe answers.
  /// `announced`: the caller has said how many files it will feed in all (a queue read a
  /// page at a time), so the pages are not announced one by one.
  public func feed(_ work: [WorkItem], containers: Set<String>, announced: Bool = false) async {
    let ids = containers.union(work.map(\.file.containerID))
    let toProbe = await scheduler.unprobed(ids, now: clock.now())
    let added = await scheduler.add(work)
    if added > 0 && !announced { sink.emit(.downloadPlanned(files: added)) }
    // Every container the logs named is listed, probed or not: a later turn may have made
    // files there that no citation names.
    let listing = options.citedOnly ? [] : containers.sorted()
    guard !toProbe.isEmpty || !listing.isEmpty else { return }
    // Not kept: the scheduler's hold is how `finish` knows planning is over.
    await scheduler.holdFeed()
    Task {
      _ = await concurrentMap(toProbe, limit: self.options.jobs) { id in
        await self.refresh(id)
        await self.scheduler.markProbed(id)
      }
      // Counted once per container, when it is first planned (a watcher feeds again and again).
      let atRisk = await self.scheduler.waiting().filter {
        toProbe.contains($0.id) && KeepAlivePolicy.isAtRisk($0, now: self.clock.now())
      }.count
      self.counts.withLock { $0.containersAtRisk += atRisk }
      if self.canGoOn { await self.listUncited(listing) }
      await self.scheduler.releaseFeed()
    }
  }

  /// Returns once fewer than `count` files wait for a worker (or the run cannot go on).
  func waitForRoom(below count: Int) async {
    await scheduler.waitForRoom(below: count)
  }

  /// No more feeding: waits until every file is done, stops the engine and says what
  /// happened. Throws when the run could not go on (credentials, libcurl, the store).
  public func finish() async throws(KitError) -> PipelineCounts {
    await scheduler.closeFeed()
    for task in tasks.withLock({ $0 }) { await task.value }
    return try await wrapUp()
  }

  /// Stops early (a signal): nothing more is handed out, transfers under way get `grace`
  /// seconds to finish and are then dropped (their files stay pending, their leases free
  /// once this run has exited). Every file either committed or untouched.
  public func stop(grace: Double) async throws(KitError) -> PipelineCounts {
    await scheduler.stop()
    let engine = self.engine
    let clock = self.clock
    // The grace covers everything still talking to the API: downloads, and the probes,
    // listings and keep-alives beside them.
    let deadline = Task {
      do { try await clock.sleep(seconds: grace) } catch { return }
      engine.abandon()
    }
    defer { deadline.cancel() }
    for task in tasks.withLock({ $0 }) { await task.value }
    return try await wrapUp()
  }

  private func wrapUp() async throws(KitError) -> PipelineCounts {
    let others = background.withLock { $0 }
    for task in others { task.cancel() }  // keep-alive and renewal sleep until cancelled
    for task in others { await task.value }
    let engine = self.engine
    await blocking { engine.shutdown() }
    var result = counts.withLock { $0 }
    result.notAttempted += await scheduler.queuedCount
    result.unarchived.sort { ($0.containerID, $0.fileID) < ($1.containerID, $1.fileID) }
    if let failure = storeFailure.withLock({ $0 }) { throw failure }
    if let fatal = engine.fatalError {
      if case .credentialsRejected = fatal.code { throw KitError(.credentialsRejected, fatal.message) }
      throw KitError(.configuration, fatal.message)
    }
    return result
  }

  /// False once the run cannot go on: `finish` or `stop` then says why.
  public var canGoOn: Bool { engine.fatalError == nil && storeFailure.withLock { $0 == nil } }

  /// Runs `body` once when the run cannot go on (at once if it already cannot).
  public func onFailure(_ body: @escaping @Sendable () -> Void) {
    let now = whenFailed.withLock { handlers -> Bool in
      if canGoOn { handlers.append(body) }
      return !canGoOn
    }
    if now { body() }
  }

  private func reportFailure() {
    for handler in whenFailed.withLock({ handlers in
      defer { handlers = [] }; return handlers
    }) { handler() }
  }

  /// Runs a catalog write off the pool; a failure stops the run with the store's message.
  /// Returns whether it succeeded.
  @discardableResult
  private func persist(_ write: @escaping @Sendable () throws -> Void) async -> Bool {
    let failure = await blocking { () -> String? in
      do {
        try write()
        return nil
      } catch { return "\(error)" }
    }
    if let failure { failStore(failure) }
    return failure == nil
  }

  private func failStore(_ message: String) {
    storeFailure.withLock { failure in
      if failure == nil { failure = KitError(.unusableStore, message) }
    }
    let scheduler = self.scheduler
    Task { await scheduler.stop() }
    reportFailure()
  }

  // MARK: Containers

  /// One status call: refines the deadline, or loses the waiting files if the server says the
  /// container is gone. Returns whether the container is alive.
  @discardableResult
  private func refresh(_ id: String) async -> Bool {
    let sent = clock.now()
    switch await engine.containerStatus(id) {
    case .ok(let status):
      // On this pipeline's clock: the time left, from when the question was asked.
      let deadline = sent.addingTimeInterval(status.secondsLeft)
      await scheduler.update(id, deadline: deadline, lifetime: status.lifetimeSeconds)
      sink.emit(.containerAlive(containerID: id, secondsLeft: status.secondsLeft))
      let store = self.store
      let now = clock.now()
      await persist { try store.catalog.recordContainerStatus(id, status: status.status, deadline: deadline, now: now) }
      return true
    case .gone(let reason):
      await containerGone(id, reason: reason)
      return false
    case .failed, .cancelled:
      // Not the server's word that it is gone: its files still get their own try.
      return true
    }
  }

  private func containerGone(_ id: String, reason: UnarchivedReason) async {
    let estimate = await scheduler.deadline(of: id)
    let waiting = await scheduler.markGone(id)
    let store = self.store
    let now = clock.now()
    await persist { try store.catalog.recordContainerStatus(id, status: "expired", deadline: nil, now: now) }
    guard !waiting.isEmpty else { return }
    // How long ago it expired, as far as the logs date it (its last citing response + 20 min).
    var when = ""
    if let estimate, estimate < now { when = "expired \(Self.age(now.timeIntervalSince(estimate))) ago, " }
    sink.emit(.containerGone(containerID: id, files: waiting.count, reason: when + reason.message))
    counts.withLock { $0.containersGone += 1 }
    let shared = UnarchivedReason(
      reason.kind, "container \(id) \(when.isEmpty ? "is gone, " : when)\(reason.message)")
    for item in waiting { count(await record(item, state: .lost, reason: shared)) }
  }

  /// Lists containers and queues the files the model made in them that no citation names.
  private func listUncited(_ ids: [String]) async {
    let store = self.store
    _ = await concurrentMap(ids, limit: options.jobs) { id in
      guard await !self.scheduler.isGone(id), case .ok(let files) = await self.engine.listFiles(id) else { return }
      let now = self.clock.now()
      let added = await blocking { () -> Result<[WorkItem], KitError> in
        Result { () throws(KitError) in
          try backend {
            let known = try store.catalog.knownFileIDs(containerID: id)
            let new = files.filter { $0.source == "assistant" && !known.contains($0.id) }.map { ($0.id, $0.path) }
            return new.isEmpty ? [] : try store.catalog.addUncitedFiles(containerID: id, files: new, now: now)
          }
        }
      }
      switch added {
      case .failure(let error): self.failStore(error.message)
      case .success(let items) where !items.isEmpty:
        await self.scheduler.add(items)
        self.counts.withLock { $0.uncitedFound += items.count }
        self.sink.emit(.uncitedFound(containerID: id, files: items.count))
      case .success: break
      }
    }
  }

  /// While files wait, refreshes every container whose deadline comes within a third of its
  /// lifetime (any container call counts as use), so a long backlog is not lost.
  private func keepAlive() async {
    while !Task.isCancelled, canGoOn {
      let now = clock.now()
      let waiting = await scheduler.waiting()
      if !waiting.isEmpty {
        sink.emit(
          .risk(
            containersAtRisk: waiting.filter { KeepAlivePolicy.isAtRisk($0, now: now) }.count,
            secondsToNearestDeadline: waiting.map { $0.deadline.timeIntervalSince(now) }.min()))
      }
      let due = KeepAlivePolicy.due(waiting, now: now)
      await withTaskGroup(of: Void.self) { group in
        for container in due {
          group.addTask {
            guard await self.refresh(container.id) else { return }
            self.counts.withLock { $0.keepAlives += 1 }
            self.sink.emit(
              .keptAlive(
                containerID: container.id, secondsLeft: container.deadline.timeIntervalSince(now),
                waitingFiles: container.files))
          }
        }
      }
      // A container's lifetime is not known yet: look again soon. Nothing waiting (a watcher
      // between two writes): once a second, since new work's containers are probed, and so
      // refreshed, as it is fed.
      let unprobed = await scheduler.hasUnprobedWork
      let tick =
        unprobed ? 0.1 : waiting.isEmpty ? 1 : KeepAlivePolicy.tick(shortestLifetime: waiting.map(\.lifetime).min())
      do { try await clock.sleep(seconds: tick) } catch { return }
    }
  }

  /// Keeps the leases of files in flight from running out while their transfers last.
  private func renewLeases() async {
    let interval = max(options.leaseSeconds / 3, 0.05)
    while !Task.isCancelled {
      do { try await clock.sleep(seconds: interval) } catch { return }
      let items = Array(inFlight.withLock { $0.values })
      guard !items.isEmpty else { continue }
      let store = self.store
      let lease = Lease(owner: leaseOwner, now: clock.now(), duration: options.leaseSeconds)
      await persist { try store.catalog.renew(items, lease: lease) }
    }
  }

  // MARK: Files

  enum FileResult: Sendable {
    case archived(size: Int64, deduplicated: Bool)
    case unarchived(UnarchivedFile)
    case notAttempted
    /// Another run holds it, or has finished it.
    case handledElsewhere
    case storeFailed(String)
  }

  private func count(_ result: FileResult) {
    if case .storeFailed(let message) = result { failStore(message) }
    counts.withLock { counts in
      switch result {
      case .archived(let size, let deduplicated):
        counts.archived += 1
        counts.bytesDownloaded += size
        if deduplicated { counts.deduplicated += 1 }
      case .unarchived(let file):
        if file.state == .lost { counts.lost += 1 } else { counts.failed += 1 }
        if counts.unarchived.count < PipelineCounts.listLimit {
          counts.unarchived.append(file)
        } else {
          counts.unarchivedNotListed += 1
        }
      case .notAttempted, .storeFailed:
        counts.notAttempted += 1
      case .handledElsewhere:
        counts.handledElsewhere += 1
      }
    }
  }

  /// Holds one of `downloadSlots` (taken by the caller) until the download has ended.
  private func transfer(_ item: WorkItem) async -> FileResult {
    let temporaryPath: String
    switch await claims.submit(item) {
    case .heldElsewhere:
      await downloadSlots.release()
      return .handledElsewhere
    case .failed(let message):
      await downloadSlots.release()
      return .storeFailed(message)
    case .claimed(let path): temporaryPath = path
    }
    inFlight.withLock { $0[item.rowID] = item }
    defer { _ = inFlight.withLock { $0.removeValue(forKey: item.rowID) } }
    let outcome = await engine.download(item.file, to: temporaryPath)
    await downloadSlots.release()
    switch outcome {
    case .downloaded(let download):
      return await ingest(item, download)
    case .unarchived(_, let reason):
      if reason.concernsContainer {
        // The server's word for the whole container: the files still queued there go too.
        await containerGone(item.file.containerID, reason: reason)
      }
      return await record(item, state: reason.isFinal ? .lost : .failed, reason: reason)
    case .cancelled:
      unlink(temporaryPath)
      return .notAttempted
    }
  }

  enum ClaimAnswer: Sendable {
    /// Leased to this run; the bytes go to this new staging file.
    case claimed(temporaryPath: String)
    case heldElsewhere
    case failed(String)
  }

  /// Leases the files the workers asked for together, in one catalog write.
  private static func claim(_ items: [WorkItem], store: ArtifactStore, lease: Lease) -> [ClaimAnswer] {
    do {
      let claimed = try store.catalog.claim(items, lease: lease, isHeldByLiveOwner: store.staging.isRunAlive)
      return try claimed.map { taken in
        taken ? .claimed(temporaryPath: try store.staging.makeTemporaryFile()) : .heldElsewhere
      }
    } catch {
      return Array(repeating: .failed(KitError(.unusableStore, "\(error)").message), count: items.count)
    }
  }

  /// A downloaded file on its way into the store; `stored` is known once its bytes are a blob.
  struct Ingest: Sendable {
    var item: WorkItem
    var download: CompletedDownload
    var stored: Bool?
  }

  /// Stores the bytes and commits the file. A local store takes the files that finished
  /// together as one batch (one flush, one transaction); an object store uploads each file
  /// here, concurrently, and only the catalog commit is shared. Either way the store's shared
  /// lock is held from the bytes becoming a blob until the commit names them, so gc waits for
  /// a batch, never for the whole run.
  private func ingest(_ item: WorkItem, _ download: CompletedDownload) async -> FileResult {
    let store = self.store
    if store.blobs.storesBatchesCheaply {
      return await commits.submit(Ingest(item: item, download: download, stored: nil))
    }
    let uploaded = await blocking { () -> Result<(StoreLock, Bool), KitError> in
      Result { () throws(KitError) in
        let lock = try store.sharedLockWaiting()
        do throws(KitError) {
          let put = try backend {
            try store.blobs.put(stagedPath: download.temporaryPath, digest: download.digest, size: download.size)
          }
          return (lock, put.stored)
        } catch {
          lock.release()
          throw error
        }
      }
    }
    switch uploaded {
    case .failure(let error):
      unlink(download.temporaryPath)
      return .storeFailed(error.message)
    case .success(let (lock, stored)):
      defer { lock.release() }
      return await commits.submit(Ingest(item: item, download: download, stored: stored))
    }
  }

  /// One batch of `ingest`: the bytes not stored yet become blobs, then one transaction
  /// records every file of the batch.
  private static func commit(_ batch: [Ingest], store: ArtifactStore, sink: any EventSink, now: Date)
    -> [FileResult]
  {
    do throws(KitError) {
      let lock = batch.contains { $0.stored == nil } ? try store.sharedLockWaiting() : nil
      defer { lock?.release() }
      var stored = batch.map(\.stored)
      let toStore = batch.indices.filter { stored[$0] == nil }
      if !toStore.isEmpty {
        let outcomes = try backend {
          try store.blobs.putAll(
            toStore.map {
              StagedBlob(
                path: batch[$0].download.temporaryPath, digest: batch[$0].download.digest, size: batch[$0].download.size
              )
            })
        }
        for (index, outcome) in zip(toStore, outcomes) { stored[index] = outcome.stored }
      }
      let archivings = batch.map { ingest in
        Archiving(
          item: ingest.item, digest: ingest.download.digest, size: ingest.download.size,
          mediaType: MediaType.sniff(prefix: ingest.download.prefix, filename: ingest.item.filename),
          attempts: ingest.download.attempts)
      }
      try backend { try store.catalog.markArchived(archivings, now: now) }
      return zip(batch, stored).map { ingest, stored in
        let deduplicated = stored == false
        sink.emit(
          .downloaded(
            file: ingest.item.file, filename: ingest.item.filename, digest: ingest.download.digest,
            size: ingest.download.size, deduplicated: deduplicated))
        return .archived(size: ingest.download.size, deduplicated: deduplicated)
      }
    } catch {
      for ingest in batch { unlink(ingest.download.temporaryPath) }
      return Array(repeating: .storeFailed(error.message), count: batch.count)
    }
  }

  private func record(_ item: WorkItem, state: FileState, reason: UnarchivedReason) async -> FileResult {
    let store = self.store
    // A failed write has already stopped the run (persist says why); the file is not counted.
    guard await persist({ try store.catalog.markUnarchived(item, state: state, reason: reason, attempts: 1) }) else {
      return .notAttempted
    }
    sink.emit(
      state == .lost
        ? .lost(file: item.file, filename: item.filename, reason: reason)
        : .failed(file: item.file, filename: item.filename, reason: reason))
    return .unarchived(
      UnarchivedFile(
        containerID: item.file.containerID, fileID: item.file.fileID, filename: item.filename, state: state,
        reason: reason.message, reasonKind: reason.kind))
  }

  /// 40 s, 12 min, 3 h, 5 days.
  static func age(_ seconds: TimeInterval) -> String {
    switch seconds {
    case ..<90: "\(Int(seconds)) s"
    case ..<5400: "\(Int(seconds / 60)) min"
    case ..<172_800: "\(Int(seconds / 3600)) h"
    default: "\(Int(seconds / 86400)) days"
    }
  }

}
