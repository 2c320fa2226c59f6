// `sync --watch`: one full pass, then the logs are followed as they are written. Each change
// is a small scan pass over the logs that changed (their new lines only), recorded with their
// positions in one transaction, and what it cites goes straight to the one pipeline that lives
// as long as the watch. A stop request (a signal) ends reading at once, lets transfers under
// way finish for a few seconds, drops the rest, and returns the summary.
import ArtifactsCore
import ArtifactsLogScan
import Foundation
import Synchronization

/// A request from outside (a signal) to end a run cleanly.
public final class StopRequest: Sendable {
  private struct State {
    var requested = false
    var handlers: [@Sendable () -> Void] = []
  }
  private let state = Mutex(State())

  public init() {}

  public var isRequested: Bool { state.withLock { $0.requested } }

  /// Asks the run to stop; what the run registered is told once.
  public func request() {
    let handlers = state.withLock { state -> [@Sendable () -> Void] in
      guard !state.requested else { return [] }
      state.requested = true
      defer { state.handlers = [] }
      return state.handlers
    }
    for handler in handlers { handler() }
  }

  /// Runs `body` when a stop is requested (at once if it was already).
  func onRequest(_ body: @escaping @Sendable () -> Void) {
    let already = state.withLock { state -> Bool in
      if !state.requested { state.handlers.append(body) }
      return state.requested
    }
    if already { body() }
  }
}

public struct WatchOptions: Sendable {
  /// Seconds between walks of every path (a safety net under inotify, which can drop events).
  public var rescanInterval: Double
  /// Seconds between looks at folders that could not be watched (the watch limit).
  public var pollInterval: Double
  /// Watch at most this many folders, polling the rest (tests; nil: as the kernel allows).
  public var maximumWatches: Int?
  /// Seconds between retries of every file still waiting (failed, or left by a run that died).
  public var retryInterval: Double
  /// Seconds transfers under way may take to finish once a stop is requested.
  public var stopGrace: Double

  public init(
    rescanInterval: Double = 5, pollInterval: Double = 1, maximumWatches: Int? = nil, retryInterval: Double = 60,
    stopGrace: Double = 8
  ) {
    self.rescanInterval = rescanInterval
    self.pollInterval = pollInterval
    self.maximumWatches = maximumWatches
    self.retryInterval = retryInterval
    self.stopGrace = stopGrace
  }
}

extension Sync {
  /// Syncs `options.paths`, then follows them until `stop` is requested (or the run cannot
  /// go on: the key refused, the store failing). Returns what the whole watch did.
  public func watch(_ options: SyncOptions, watch: WatchOptions = WatchOptions(), stop: StopRequest)
    async throws(KitError) -> SyncSummary
  {
    let store = self.store
    let trust = try api.trust()
    let roots = options.paths.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    let (files, missing) = await blocking { LogDiscovery.logFiles(in: roots) }
    if !missing.isEmpty {
      throw KitError(.missingInput, "no such file or directory: \(missing.joined(separator: ", "))")
    }
    let configuration = try api.configuration(
      trust: trust, connectTimeout: options.connectTimeout, stallTimeout: options.stallTimeout)
    await blocking { _ = store.staging.removeAbandoned() }

    // Watching starts before the first pass, so nothing written during it is missed.
    let watcher: LogWatcher
    do {
      watcher = try LogWatcher(
        roots: roots,
        options: LogWatcherOptions(
          rescanInterval: watch.rescanInterval, pollInterval: watch.pollInterval,
          maximumWatches: watch.maximumWatches))
    } catch {
      throw KitError(.configuration, "cannot watch the logs: \(error.description)")
    }
    let pipeline = try Pipeline(
      store: store, sink: sink, options: options.pipeline, configuration: configuration, clock: clock)
    pipeline.start()
    watcher.start()
    stop.onRequest { watcher.stop() }
    pipeline.onFailure { watcher.stop() }
    defer { watcher.stop() }

    var summary = SyncSummary()
    do {
      try await follow(
        files, roots: roots, watcher: watcher, pipeline: pipeline, options: options, watch: watch, stop: stop,
        into: &summary)
    } catch {
      // The store failed under a scan: the downloads stop too, and the error is the run's.
      _ = try? await pipeline.stop(grace: watch.stopGrace)
      throw error
    }
    summary.add(try await pipeline.stop(grace: watch.stopGrace))
    return summary
  }

  /// The first pass, then every change until a stop or a failure.
  private func follow(
    _ files: [String], roots: [String], watcher: LogWatcher, pipeline: Pipeline, options: SyncOptions,
    watch: WatchOptions, stop: StopRequest, into summary: inout SyncSummary
  ) async throws(KitError) {
    let store = self.store
    let listing = !options.pipeline.citedOnly
    var first = ScanPass(store: store, sink: sink, clock: clock)
    first.logsMayBeUnfinished = true
    let found = try await first.run(files, into: &summary)
    await pipeline.feed(
      try await blocking { () throws(KitError) in try backend { try store.catalog.pendingWork() } },
      containers: listing ? found.containers : [])
    var following = (logs: files.count, folders: watcher.counts.watched, polled: watcher.counts.polled)
    sink.emit(.watching(logs: following.logs, folders: following.folders, polled: following.polled))

    var pass = first
    pass.watching = true
    var lastRetry = clock.now()
    while !stop.isRequested && pipeline.canGoOn {
      let changes = await watcher.next()
      if changes.stopped || stop.isRequested || !pipeline.canGoOn { break }
      for notice in changes.notices {
        sink.emit(.diagnostic(notice))
        summary.warnings += 1
      }
      try await carryRenamed(changes.renames)
      // A rescan walks the roots; a log followed to a new name outside them is read as well.
      var paths = changes.paths.sorted()
      if changes.rescan {
        let walked = await blocking { LogDiscovery.logFiles(in: roots).files }
        paths = walked + Set(paths).subtracting(walked).sorted()
      }
      let found = try await pass.run(paths, into: &summary)
      let now = clock.now()
      let retrying = now.timeIntervalSince(lastRetry) >= watch.retryInterval
      if retrying { lastRetry = now }
      let cited = found.cited
      let work = try await blocking { () throws(KitError) in
        try backend { retrying ? try store.catalog.pendingWork() : try store.catalog.pendingWork(among: cited) }
      }
      if !work.isEmpty || (listing && !found.containers.isEmpty) {
        await pipeline.feed(work, containers: listing ? found.containers : [])
      }
      if changes.rescan {
        let now = (logs: paths.count, folders: watcher.counts.watched, polled: watcher.counts.polled)
        if now != following {
          following = now
          sink.emit(.watching(logs: now.logs, folders: now.folders, polled: now.polled))
        }
      }
    }
  }

  /// A log renamed within the watched folders (rotation) keeps its position: what was
  /// appended before the rename is read under the new name, nothing is read twice.
  private func carryRenamed(_ renames: [(from: String, to: String)]) async throws(KitError) {
    guard !renames.isEmpty else { return }
    let store = self.store
    let pairs = renames.map { [$0.from, $0.to] }
    try await blocking { () throws(KitError) in
      for pair in pairs {
        guard let identity = LogFileIdentity.read(path: pair[1]) else { continue }
        _ = try backend { try store.catalog.carryCheckpoint(from: pair[0], to: pair[1], identity: identity) }
      }
    }
  }
}
