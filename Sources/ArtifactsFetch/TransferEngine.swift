// Downloads container files with libcurl's multi interface on one dedicated thread: many
// transfers share connections (and HTTP/2 streams where offered), every byte is hashed on its
// way to disk, and no blocking call ever runs on Swift's cooperative thread pool.
import ArtifactsCore
import CCurl
import Crypto
import Foundation

/// What became of one requested file.
public enum DownloadOutcome: Sendable {
  /// The bytes are complete in `temporaryPath`, hashed and measured.
  case downloaded(CompletedDownload)
  /// The server says the file (or its container) is gone: retrying cannot help.
  case lost(ContainerFileRef, reason: String)
  /// Gave up: a permanent error, or transient ones past the retry budget.
  case failed(ContainerFileRef, reason: String)
  /// Not attempted to the end because the run was stopped (credentials rejected).
  case cancelled(ContainerFileRef)
}

public struct CompletedDownload: Sendable {
  public var file: ContainerFileRef
  public var temporaryPath: String
  public var digest: Digest
  public var size: Int64
  /// The first bytes, for sniffing the media type.
  public var prefix: [UInt8]
  /// The name from `Content-Disposition` (`filename*` preferred), if any.
  public var serverFilename: String?
  public var attempts: Int
}

/// The answer to a GET of a JSON endpoint (container status, file listing).
public enum GetOutcome: Sendable {
  case ok(FetchedResponse)
  /// 404, or the container expired: the server says it is gone.
  case gone(reason: String)
  case failed(reason: String)
  case cancelled
}

/// Called on the engine's thread when a request will be tried again (`file` is nil for
/// requests that are not downloads).
public typealias RetryObserver =
  @Sendable (_ file: ContainerFileRef?, _ attempt: Int, _ reason: String, _ delay: Double) -> Void

public final class TransferEngine: @unchecked Sendable {
  // Everything below `lock` is shared with submitting threads; the rest belongs to the thread.
  private let lock = NSLock()
  private var queued: [Transfer] = []
  private var delayed: [Transfer] = []
  private var stopping = false
  private var fatal: FetchError?

  private let configuration: APIConfiguration
  private let policy: RetryPolicy
  /// Downloads at once (`--jobs`).
  private let maximumConcurrent: Int
  /// Container calls (status, listing, keep-alive) at once, beside the downloads: they are
  /// small, and a keep-alive must never wait for a download slot to come free.
  private let maximumCalls: Int
  private var activeDownloads = 0
  private let onRetry: RetryObserver?
  private let multi: UnsafeMutableRawPointer
  private var active: [UnsafeMutableRawPointer: Transfer] = [:]
  private var thread: Thread?
  private let finished = DispatchSemaphore(value: 0)

  public init(
    configuration: APIConfiguration, maximumConcurrent: Int = 16, policy: RetryPolicy = RetryPolicy(),
    onRetry: RetryObserver? = nil
  ) throws(FetchError) {
    // Every libcurl call in the process goes through an engine, so this is the one place
    // libcurl is loaded (see ccurl.h).
    guard ccurl_load() else { throw FetchError(.transport, String(cString: ccurl_load_error())) }
    guard let multi = ccurl_multi_init() else {
      throw FetchError(.transport, "libcurl could not create a multi handle")
    }
    self.multi = multi
    self.configuration = configuration
    self.policy = policy
    self.maximumConcurrent = max(1, maximumConcurrent)
    self.maximumCalls = max(2, self.maximumConcurrent / 2)
    self.onRetry = onRetry
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, self.maximumConcurrent + self.maximumCalls)
    let thread = Thread { [unowned self] in self.run() }
    thread.name = "artifacts.curl"
    self.thread = thread
    thread.start()
  }

  deinit {
    ccurl_multi_cleanup(multi)
  }

  /// The reason the run was stopped, if it was (credentials rejected).
  public var fatalError: FetchError? {
    lock.withLock { fatal }
  }

  public func url(for file: ContainerFileRef) -> String {
    "\(configuration.baseURL)/containers/\(file.containerID)/files/\(file.fileID)/content"
  }

  /// Downloads `file` into `temporaryPath` (created, or truncated, by the engine).
  public func download(_ file: ContainerFileRef, to temporaryPath: String) async -> DownloadOutcome {
    guard IdentifierSyntax.isSafePathSegment(file.containerID), IdentifierSyntax.isSafePathSegment(file.fileID) else {
      return .failed(file, reason: "the container or file id contains characters no API id has; not requested")
    }
    switch await submit(subject: file, url: url(for: file), target: .file(path: temporaryPath)) {
    case .completed(.file(let download)): return .downloaded(download)
    case .completed(.memory): return .failed(file, reason: "internal error: a download answered in memory")
    case .lost(let reason): return .lost(file, reason: reason)
    case .failed(let reason): return .failed(file, reason: reason)
    case .cancelled: return .cancelled(file)
    }
  }

  /// GETs `path` (below the base URL, e.g. `/containers/cntr_…`) and keeps the answer in memory.
  public func get(_ path: String, about subject: ContainerFileRef? = nil) async -> GetOutcome {
    switch await submit(subject: subject, url: configuration.baseURL + path, target: .memory) {
    case .completed(.memory(let response)): return .ok(response)
    case .completed(.file): return .failed(reason: "internal error: a JSON answer went to a file")
    case .lost(let reason): return .gone(reason: reason)
    case .failed(let reason): return .failed(reason: reason)
    case .cancelled: return .cancelled
    }
  }

  private func submit(subject: ContainerFileRef?, url: String, target: TransferTarget) async -> TransferOutcome {
    await withCheckedContinuation { continuation in
      let transfer = Transfer(subject: subject, url: url, target: target, continuation: continuation)
      let rejected: Bool = lock.withLock {
        if fatal == nil && !stopping {
          // Container calls are small and urgent (a keep-alive must not wait behind a long
          // queue of downloads): they go first.
          if target.isFile { queued.append(transfer) } else { queued.insert(transfer, at: 0) }
        }
        return fatal != nil || stopping
      }
      if rejected {
        continuation.resume(returning: .cancelled)
      } else {
        ccurl_multi_wakeup(multi)
      }
    }
  }

  /// Lets running transfers finish, then stops the thread. Call once, after the last download.
  public func shutdown() {
    lock.withLock { stopping = true }
    ccurl_multi_wakeup(multi)
    finished.wait()
  }

  // MARK: The engine thread

  private func run() {
    while true {
      let now = DispatchTime.now().uptimeNanoseconds
      let (starting, cancelled, done): ([Transfer], [Transfer], Bool) = lock.withLock {
        if fatal != nil {
          let cancelled = queued + delayed
          queued = []
          delayed = []
          return ([], cancelled, active.isEmpty)
        }
        let due = delayed.filter { $0.notBefore <= now }
        delayed.removeAll { $0.notBefore <= now }
        queued.insert(contentsOf: due, at: 0)
        let starting = takeStartable()
        let done = stopping && queued.isEmpty && delayed.isEmpty && active.isEmpty && starting.isEmpty
        return (starting, [], done)
      }
      for transfer in cancelled { transfer.complete(.cancelled) }
      if fatalError != nil { cancelActive() }
      if done { break }
      for transfer in starting { start(transfer) }

      var running: Int32 = 0
      ccurl_multi_perform(multi, &running)
      var remaining: Int32 = 0
      while let message = ccurl_multi_info_read(multi, &remaining) {
        guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
        let result = ccurl_msg_result(message)
        if let transfer = active.removeValue(forKey: easy) {
          if transfer.target.isFile { activeDownloads -= 1 }
          ccurl_multi_remove_handle(multi, easy)
          finish(transfer, result: result)
        }
      }
      ccurl_multi_poll(multi, nil, 0, pollTimeout(now: DispatchTime.now().uptimeNanoseconds), nil)
    }
    finished.signal()
  }

  private func pollTimeout(now: UInt64) -> Int32 {
    let (startable, nextDue) = lock.withLock { (queued.contains(where: canStart), delayed.map(\.notBefore).min()) }
    // A transfer that just finished freed a slot that queued work can take now: no wakeup
    // will come for work that was queued before, so do not sleep.
    if startable { return 0 }
    guard let nextDue else { return 1000 }
    let milliseconds = nextDue > now ? (nextDue - now) / 1_000_000 + 1 : 0
    return Int32(min(1000, milliseconds))
  }

  /// Whether a slot of the transfer's kind is free (engine thread; `active` is its own).
  private func canStart(_ transfer: Transfer) -> Bool {
    transfer.target.isFile
      ? activeDownloads < maximumConcurrent : active.count - activeDownloads < maximumCalls
  }

  /// Takes from the queue, in order, what free slots allow. Called with `lock` held.
  private func takeStartable() -> [Transfer] {
    var downloads = maximumConcurrent - activeDownloads
    var calls = maximumCalls - (active.count - activeDownloads)
    var starting: [Transfer] = []
    var waiting: [Transfer] = []
    for transfer in queued {
      if transfer.target.isFile ? downloads > 0 : calls > 0 {
        if transfer.target.isFile { downloads -= 1 } else { calls -= 1 }
        starting.append(transfer)
      } else {
        waiting.append(transfer)
      }
    }
    queued = waiting
    return starting
  }

  private func cancelActive() {
    for (key, transfer) in active {
      ccurl_multi_remove_handle(multi, key)
      transfer.discard()
      transfer.complete(.cancelled)
    }
    active = [:]
    activeDownloads = 0
  }

  private func start(_ transfer: Transfer) {
    transfer.attempts += 1
    do {
      try transfer.prepare(configuration: configuration)
    } catch {
      transfer.discard()
      transfer.complete(.failed(error.description))
      return
    }
    guard let easy = transfer.easy else { return }
    active[easy] = transfer
    if transfer.target.isFile { activeDownloads += 1 }
    ccurl_multi_add_handle(multi, easy)
  }

  private func finish(_ transfer: Transfer, result: CURLcode) {
    switch transfer.verdict(result: result, configuration: configuration) {
    case .success(let result):
      transfer.release()
      transfer.complete(.completed(result))
    case .lost(let reason):
      transfer.discard()
      transfer.complete(.lost(configuration.redact(reason)))
    case .permanent(let reason):
      transfer.discard()
      transfer.complete(.failed(configuration.redact(reason)))
    case .transient(let reason, let headers):
      let reason = configuration.redact(reason)
      guard transfer.attempts < policy.maximumAttempts else {
        transfer.discard()
        transfer.complete(.failed("\(reason) (gave up after \(transfer.attempts) attempts)"))
        return
      }
      transfer.releaseForRetry()
      let delay = policy.delay(afterAttempt: transfer.attempts, headers: headers)
      onRetry?(transfer.subject, transfer.attempts + 1, reason, delay)
      transfer.notBefore = DispatchTime.now().uptimeNanoseconds + UInt64(delay * 1_000_000_000)
      lock.withLock { delayed.append(transfer) }
    case .rejected(let status, let reason):
      transfer.discard()
      let message = configuration.redact(reason)
      lock.withLock {
        if fatal == nil { fatal = FetchError(.credentialsRejected(status: status), message) }
      }
      transfer.complete(.cancelled)
    }
  }
}
