// The download phase of `sync`: every file that can still be rescued is, as fast as the
// network allows. Each container is probed before any of its files is asked for (the server's
// own clock refines its deadline, and a container it says is gone loses its files with one
// request instead of one each) and listed for files no citation names; downloads start as the
// probes answer and drain earliest deadline first, while containers whose files are still
// waiting are kept alive.
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsFetch
import ArtifactsStore
import Foundation

struct Download: Sendable {
  let store: ArtifactStore
  let sink: any EventSink
  let options: SyncOptions
  let configuration: APIConfiguration

  func run(work: [WorkItem], listing containers: Set<String>, into summary: inout SyncSummary) async throws(KitError) {
    let sink = self.sink
    let engine: TransferEngine
    do {
      engine = try TransferEngine(
        configuration: configuration, maximumConcurrent: options.jobs, policy: options.retryPolicy,
        onRetry: { file, attempt, reason, delay in
          if let file { sink.emit(.retrying(file: file, attempt: attempt, reason: reason, delaySeconds: delay)) }
        })
    } catch {
      throw KitError(.configuration, error.message)
    }
    let scheduler = DownloadScheduler(work)
    let tally = Tally()
    if scheduler.queuedCount > 0 { sink.emit(.downloadPlanned(files: scheduler.queuedCount)) }
    // Planning runs beside the downloads: a container's files start as soon as its own probe
    // has answered (so a gone container still costs one request), not after every container
    // has been probed and listed.
    let planning = Task {
      await self.probe(
        Set(scheduler.containerIDs).union(containers), engine: engine, scheduler: scheduler, tally: tally)
      let atRisk = scheduler.containersAtRisk(now: Date())
      tally.update { $0.atRisk = atRisk }
      // Kept alive from here on, when every deadline and lifetime is the server's.
      let keeper =
        self.options.keepAlive ? Task { await self.keepAlive(engine: engine, scheduler: scheduler, tally: tally) } : nil
      if !self.options.citedOnly, engine.fatalError == nil {
        await self.listUncited(containers, engine: engine, scheduler: scheduler, tally: tally)
      }
      scheduler.planningFinished()
      return keeper
    }
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<max(options.jobs * 2, 4) {
        group.addTask {
          while engine.fatalError == nil, let item = await scheduler.next() {
            tally.add(await self.transfer(item, engine: engine, scheduler: scheduler, tally: tally))
          }
        }
      }
      await group.waitForAll()
    }
    let keeper = await planning.value
    keeper?.cancel()  // its sleep ends at once
    await keeper?.value
    await offThePool { engine.shutdown() }
    try tally.fill(&summary, notAttempted: scheduler.queuedCount)
    if let fatal = engine.fatalError { throw KitError(.credentialsRejected, fatal.message) }
  }

  // MARK: Containers

  /// Asks for each container's status, a few at a time.
  private func probe(_ ids: Set<String>, engine: TransferEngine, scheduler: DownloadScheduler, tally: Tally) async {
    await forEach(Array(ids).sorted(), limit: options.jobs) { id in
      await self.refresh(id, engine: engine, scheduler: scheduler, tally: tally)
    }
  }

  /// One status call: refines the deadline, or loses the waiting files if the server says the
  /// container is gone. Returns whether the container is alive.
  @discardableResult
  private func refresh(_ id: String, engine: TransferEngine, scheduler: DownloadScheduler, tally: Tally) async -> Bool {
    defer { scheduler.markProbed(id) }
    switch await engine.containerStatus(id) {
    case .ok(let status):
      scheduler.update(id, deadline: status.deadline, lifetime: status.lifetimeSeconds)
      let store = self.store
      await offThePool {
        try? store.catalog.recordContainerStatus(id, status: status.status, deadline: status.deadline)
      }
      return true
    case .gone(let reason):
      await containerGone(id, reason: reason, scheduler: scheduler, tally: tally)
      return false
    case .failed, .cancelled:
      // Not the server's word that it is gone: its files still get their own try.
      return true
    }
  }

  private func containerGone(_ id: String, reason: String, scheduler: DownloadScheduler, tally: Tally) async {
    let estimate = scheduler.deadline(of: id)
    let waiting = scheduler.markGone(id)
    let store = self.store
    await offThePool { try? store.catalog.recordContainerStatus(id, status: "expired", deadline: nil) }
    guard !waiting.isEmpty else { return }
    // How long ago it expired, as far as the logs date it (its last citing response + 20 min).
    var when = ""
    if let estimate, estimate < Date() { when = "expired \(Self.age(Date().timeIntervalSince(estimate))) ago, " }
    sink.emit(.containerGone(containerID: id, files: waiting.count, reason: when + reason))
    tally.update { $0.gone += 1 }
    let reasonForFiles = "container \(id) \(when.isEmpty ? "is gone, " : when)\(reason)"
    for item in waiting { tally.add(await record(item, state: .lost, reason: reasonForFiles)) }
  }

  /// Lists containers seen in this run's logs and queues the files the model made in them
  /// that no citation names.
  private func listUncited(_ ids: Set<String>, engine: TransferEngine, scheduler: DownloadScheduler, tally: Tally) async
  {
    let store = self.store
    let sink = self.sink
    await forEach(Array(ids).sorted(), limit: options.jobs) { id in
      guard !scheduler.isGone(id), case .ok(let files) = await engine.listFiles(id) else { return }
      let known = await offThePool { (try? store.catalog.knownFileIDs(containerID: id)) ?? [] }
      let new = files.filter { $0.source == "assistant" && !known.contains($0.id) }.map { ($0.id, $0.path) }
      guard !new.isEmpty else { return }
      let items = await offThePool { (try? store.catalog.addUncitedFiles(containerID: id, files: new)) ?? [] }
      scheduler.add(items)
      tally.update { $0.uncited += items.count }
      sink.emit(.uncitedFound(containerID: id, files: items.count))
    }
  }

  /// While files wait, refreshes every container whose deadline comes within a third of its
  /// lifetime (any container call counts as use), so a long backlog is not lost.
  private func keepAlive(engine: TransferEngine, scheduler: DownloadScheduler, tally: Tally) async {
    while !Task.isCancelled, !scheduler.isDrained, engine.fatalError == nil {
      let now = Date()
      let lifetime = scheduler.shortestLifetime ?? 20 * 60
      let waiting = scheduler.waiting()
      sink.emit(
        .risk(
          containersAtRisk: waiting.filter { DownloadScheduler.isAtRisk($0, now: now) }.count,
          secondsToNearestDeadline: waiting.map { $0.deadline.timeIntervalSince(now) }.min()))
      // All containers near their deadline at once: one after another, the last could miss it.
      let due = waiting.filter { $0.deadline.timeIntervalSince(now) < max($0.lifetime / 3, 1) }
      await withTaskGroup(of: Void.self) { group in
        for container in due {
          group.addTask {
            guard await self.refresh(container.id, engine: engine, scheduler: scheduler, tally: tally) else { return }
            tally.update { $0.keepAlives += 1 }
            self.sink.emit(
              .keptAlive(
                containerID: container.id, secondsLeft: container.deadline.timeIntervalSince(now),
                waitingFiles: container.files))
          }
        }
      }
      let tick = min(max(lifetime / 12, 0.1), 10)
      try? await Task.sleep(nanoseconds: UInt64(tick * 1e9))
    }
  }

  // MARK: Files

  private func transfer(_ item: WorkItem, engine: TransferEngine, scheduler: DownloadScheduler, tally: Tally) async
    -> FileResult
  {
    defer { scheduler.finished(item) }
    // Another sync running on this store may have taken (or finished) this file.
    let store = self.store
    let claimed = await offThePool { () -> Result<String, StoreError>? in
      guard (try? store.catalog.claim(item, owner: store.blobs.runID) { store.blobs.isRunAlive($0) }) == true else {
        return nil
      }
      return Result { () throws(StoreError) -> String in try store.blobs.makeTemporaryFile() }
    }
    let temporaryPath: String
    switch claimed {
    case nil: return .handledElsewhere
    case .failure(let error): return .storeFailed(error.description)
    case .success(let path): temporaryPath = path
    }
    let outcome = await engine.download(item.file, to: temporaryPath)
    let sink = self.sink
    switch outcome {
    case .downloaded(let download):
      return await offThePool { () -> FileResult in
        do {
          let ingested = try store.blobs.ingest(
            temporaryPath: download.temporaryPath, digest: download.digest, size: download.size)
          let mediaType = MediaType.sniff(prefix: download.prefix, filename: item.filename)
          try store.catalog.markArchived(
            item, digest: download.digest, size: download.size, mediaType: mediaType, attempts: download.attempts)
          sink.emit(
            .downloaded(
              file: item.file, filename: item.filename, digest: download.digest, size: download.size,
              deduplicated: !ingested.stored))
          return .archived(size: download.size, deduplicated: !ingested.stored)
        } catch {
          unlink(download.temporaryPath)
          return .storeFailed("\(error)")
        }
      }
    case .lost(_, let reason):
      if Self.meansContainerExpired(reason) {
        // The server's word for the whole container: the files still queued there are lost too.
        await containerGone(item.file.containerID, reason: reason, scheduler: scheduler, tally: tally)
      }
      return await record(item, state: .lost, reason: reason)
    case .failed(_, let reason):
      return await record(item, state: .failed, reason: reason)
    case .cancelled:
      return .notAttempted
    }
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

  static func meansContainerExpired(_ reason: String) -> Bool {
    reason.hasPrefix("HTTP 400") && reason.lowercased().contains("expire")
  }

  private func record(_ item: WorkItem, state: FileState, reason: String) async -> FileResult {
    let store = self.store
    do {
      try await offThePoolThrowing { try store.catalog.markUnarchived(item, state: state, reason: reason, attempts: 1) }
    } catch {
      return .storeFailed("\(error)")
    }
    sink.emit(
      state == .lost
        ? .lost(file: item.file, filename: item.filename, reason: reason)
        : .failed(file: item.file, filename: item.filename, reason: reason))
    return .unarchived(
      UnarchivedFile(
        containerID: item.file.containerID, fileID: item.file.fileID, filename: item.filename, state: state.rawValue,
        reason: reason))
  }

  /// Runs `body` for every element, at most `limit` at once.
  private func forEach(_ elements: [String], limit: Int, _ body: @escaping @Sendable (String) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
      var iterator = elements.makeIterator()
      for _ in 0..<max(1, limit) {
        guard let element = iterator.next() else { break }
        group.addTask { await body(element) }
      }
      while await group.next() != nil {
        if let element = iterator.next() { group.addTask { await body(element) } }
      }
    }
  }
}

enum FileResult: Sendable {
  case archived(size: Int64, deduplicated: Bool)
  case unarchived(UnarchivedFile)
  case notAttempted
  /// Another run on the same store had it.
  case handledElsewhere
  case storeFailed(String)
}

/// Counts kept while downloads run on many tasks.
final class Tally: @unchecked Sendable {
  struct Counts {
    var uncited = 0
    var gone = 0
    var keepAlives = 0
    var atRisk = 0
  }

  private let lock = NSLock()
  private var results: [FileResult] = []
  private var counts = Counts()

  /// Changes the counts under the lock, in one step (many tasks count at once).
  func update(_ change: (inout Counts) -> Void) {
    lock.withLock { change(&counts) }
  }

  func add(_ result: FileResult) {
    lock.withLock { results.append(result) }
  }

  func fill(_ summary: inout SyncSummary, notAttempted: Int) throws(KitError) {
    let (results, counts) = lock.withLock { (self.results, self.counts) }
    summary.uncitedFound += counts.uncited
    summary.containersGone += counts.gone
    summary.keepAlives += counts.keepAlives
    summary.containersAtRisk += counts.atRisk
    summary.pending += notAttempted
    for result in results {
      switch result {
      case .archived(let size, let deduplicated):
        summary.archived += 1
        summary.bytesDownloaded += size
        if deduplicated { summary.deduplicated += 1 }
      case .unarchived(let file):
        if file.state == FileState.lost.rawValue { summary.lost += 1 } else { summary.failed += 1 }
        summary.unarchived.append(file)
      case .notAttempted:
        summary.pending += 1
      case .handledElsewhere:
        summary.handledElsewhere += 1
      case .storeFailed(let message):
        throw KitError(.unusableStore, message)
      }
    }
    summary.unarchived.sort { ($0.containerID, $0.fileID) < ($1.containerID, $1.fileID) }
  }
}

/// The queue of files, per container, earliest deadline first. A container's files are handed
/// out once its probe has answered; `next` waits for that, and for planning to finish, before
/// it says there is nothing left.
final class DownloadScheduler: @unchecked Sendable {
  private struct Queue {
    var items: [WorkItem] = []
    var deadline: Date?
    var lifetime: Double?
    var inFlight = 0
    var gone = false
    /// The container's status was asked (whatever the answer).
    var probed = false
  }

  private let lock = NSLock()
  private var queues: [String: Queue] = [:]
  private var planning = true
  /// Workers waiting for a probe or for planning to end; resumed on every change.
  private var waiters: [CheckedContinuation<Void, Never>] = []
  private var generation = 0

  init(_ work: [WorkItem]) {
    add(work)
  }

  func add(_ work: [WorkItem]) {
    changing {
      for item in work {
        var queue = queues[item.file.containerID] ?? Queue()
        if queue.gone { continue }
        queue.items.append(item)
        if queue.deadline == nil { queue.deadline = item.deadline }
        queues[item.file.containerID] = queue
      }
    }
  }

  func markProbed(_ id: String) {
    changing { queues[id, default: Queue()].probed = true }
  }

  /// Probing and listing are over: an empty queue now means the work is done.
  func planningFinished() {
    changing { planning = false }
  }

  /// Applies a change under the lock and wakes every waiting worker.
  private func changing(_ change: () -> Void) {
    let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
      change()
      generation += 1
      defer { waiters = [] }
      return waiters
    }
    for waiter in woken { waiter.resume() }
  }

  var containerIDs: [String] { lock.withLock { Array(queues.keys) } }
  var queuedCount: Int { lock.withLock { queues.values.reduce(0) { $0 + $1.items.count } } }
  var isDrained: Bool {
    lock.withLock { !planning && queues.values.allSatisfy { $0.items.isEmpty && $0.inFlight == 0 } }
  }
  var shortestLifetime: Double? { lock.withLock { queues.values.compactMap(\.lifetime).min() } }

  func isGone(_ id: String) -> Bool { lock.withLock { queues[id]?.gone ?? false } }

  /// The next file: from the probed container whose deadline is earliest (undated ones
  /// last). Waits while files wait for their probe or planning may add more; nil when done.
  func next() async -> WorkItem? {
    while true {
      let (item, more, seen): (WorkItem?, Bool, Int) = lock.withLock {
        let candidate = queues.filter { ($0.value.probed || !planning) && !$0.value.items.isEmpty }.min { left, right in
          (left.value.deadline ?? .distantFuture, left.key) < (right.value.deadline ?? .distantFuture, right.key)
        }
        guard let (id, _) = candidate else {
          return (nil, planning || queues.values.contains { !$0.items.isEmpty }, generation)
        }
        queues[id]!.inFlight += 1
        return (queues[id]!.items.removeFirst(), true, generation)
      }
      if let item { return item }
      guard more else { return nil }
      await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
        let changed: Bool = lock.withLock {
          if generation != seen { return true }
          waiters.append(waiter)
          return false
        }
        if changed { waiter.resume() }
      }
    }
  }

  func finished(_ item: WorkItem) {
    lock.withLock { queues[item.file.containerID]?.inFlight -= 1 }
  }

  func update(_ id: String, deadline: Date, lifetime: Double) {
    lock.withLock {
      var queue = queues[id] ?? Queue()
      queue.deadline = deadline
      queue.lifetime = lifetime
      queues[id] = queue
    }
  }

  func deadline(of id: String) -> Date? { lock.withLock { queues[id]?.deadline } }

  /// Marks the container gone; returns its files that were still waiting (now dequeued).
  func markGone(_ id: String) -> [WorkItem] {
    var waiting: [WorkItem] = []
    changing {
      var queue = queues[id] ?? Queue()
      waiting = queue.items
      queue.items = []
      queue.gone = true
      queues[id] = queue
    }
    return waiting
  }

  /// Containers with files still waiting, and when they expire.
  func waiting() -> [(id: String, deadline: Date, lifetime: Double, files: Int)] {
    lock.withLock {
      queues.compactMap { id, queue in
        guard !queue.gone, !queue.items.isEmpty, let deadline = queue.deadline else { return nil }
        return (id, deadline, queue.lifetime ?? 20 * 60, queue.items.count)
      }
    }
  }

  /// Containers with waiting files and less than a third of their lifetime left.
  func containersAtRisk(now: Date) -> Int {
    waiting().filter { Self.isAtRisk($0, now: now) }.count
  }

  /// Less than a third of its lifetime left: what "at risk" means in reports, and (with at
  /// least a second of margin) when keep-alive refreshes a container.
  static func isAtRisk(_ container: (id: String, deadline: Date, lifetime: Double, files: Int), now: Date) -> Bool {
    container.deadline.timeIntervalSince(now) < container.lifetime / 3
  }
}

/// `offThePool` for work that can fail.
func offThePoolThrowing(_ body: @escaping @Sendable () throws -> Void) async throws {
  let result: Result<Void, any Error> = await offThePool { Result { try body() } }
  try result.get()
}
