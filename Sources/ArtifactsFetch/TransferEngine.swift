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
  /// Not archived, and why: the reason says whether that is final (`isFinal`: lost) or a
  /// later run may try again (failed).
  case unarchived(ContainerFileRef, UnarchivedReason)
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
  public var attempts: Int
  /// The answer's status (206 for a resumed body, or one of a request's accepted answers).
  public var status: Int = 200
  public var headers: [String: String] = [:]

  /// The name from `Content-Disposition` (`filename*` preferred), if any: parsed when asked
  /// (nothing on the download path needs it, and parsing it was 4% of a sync).
  public var serverFilename: String? { Transfer.filename(fromContentDisposition: headers["content-disposition"]) }
}

/// The answer to a GET of a JSON endpoint (container status, file listing).
public enum GetOutcome: Sendable {
  case ok(FetchedResponse)
  /// The request ended without an answer to use, and why.
  case unarchived(UnarchivedReason)
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
  /// Transfers are to be dropped, not finished: the run is being stopped by a signal.
  private var abandoning = false
  /// `shutdown` was called (the thread's end is waited for once).
  private var shutDown = false
  private var fatal: FetchError?
  /// Some request has had an answer from the API (a file, or the API's own error): failures
  /// from here on are one request's, not the run's.
  private var healthy = false
  /// Failures that may be run-wide, counted by kind until the API has answered once.
  private var suspicions: [Suspicion: Int] = [:]
  /// This many attempts failing the same way, before any answer, stop the run.
  static let runWideThreshold = 3

  /// The service this engine talks to.
  let endpoint: Endpoint
  /// The API's own settings (`api-version`), when the service is the Containers API.
  private let api: APIConfiguration?
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

  /// An engine for the Containers API.
  public convenience init(
    configuration: APIConfiguration, maximumConcurrent: Int = 16, policy: RetryPolicy = RetryPolicy(),
    onRetry: RetryObserver? = nil
  ) throws(FetchError) {
    try self.init(
      endpoint: configuration.endpoint, api: configuration, maximumConcurrent: maximumConcurrent, policy: policy,
      onRetry: onRetry)
  }

  init(
    endpoint: Endpoint, api: APIConfiguration?, maximumConcurrent: Int, policy: RetryPolicy,
    onRetry: RetryObserver?
  ) throws(FetchError) {
    // Every libcurl call in the process goes through an engine, so this is the one place
    // libcurl is loaded (see ccurl.h).
    guard ccurl_load() else { throw FetchError(.transport, String(cString: ccurl_load_error())) }
    guard let multi = ccurl_multi_init() else {
      throw FetchError(.transport, "libcurl could not create a multi handle")
    }
    self.multi = multi
    self.endpoint = endpoint
    self.api = api
    self.policy = policy
    self.maximumConcurrent = max(1, maximumConcurrent)
    self.maximumCalls = max(2, self.maximumConcurrent / 2)
    self.onRetry = onRetry
    do {
      try Curl.check(
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX)),
        "curl_multi_setopt(CURLMOPT_PIPELINING)")
      try Curl.check(
        ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, self.maximumConcurrent + self.maximumCalls),
        "curl_multi_setopt(CURLMOPT_MAX_HOST_CONNECTIONS)")
    } catch {
      ccurl_multi_cleanup(multi)
      throw error
    }
    let thread = Thread { [unowned self] in self.run() }
    thread.name = "artifacts.curl"
    self.thread = thread
    thread.start()
  }

  deinit {
    ccurl_multi_cleanup(multi)
  }

  /// The reason the run was stopped, if it was (credentials rejected, libcurl failing).
  public var fatalError: FetchError? {
    lock.withLock { fatal }
  }

  /// The service's base URL (without a trailing slash).
  public var baseURL: String { endpoint.baseURL }

  /// The URL of `path` below the base URL, with the API's `api-version` where it has one.
  func url(_ path: String) -> String {
    api?.url(path) ?? endpoint.baseURL + path
  }

  public func url(for file: ContainerFileRef) -> String {
    url("/containers/\(file.containerID)/files/\(file.fileID)/content")
  }

  /// Downloads `file` into `temporaryPath` (created, or truncated, by the engine).
  public func download(_ file: ContainerFileRef, to temporaryPath: String) async -> DownloadOutcome {
    guard IdentifierSyntax.isSafePathSegment(file.containerID), IdentifierSyntax.isSafePathSegment(file.fileID) else {
      return .unarchived(
        file, UnarchivedReason(.rejected, "the container or file id contains characters no API id has; not requested"))
    }
    switch await submit(subject: file, TransferRequest(url: url(for: file), target: .file(path: temporaryPath))) {
    case .completed(.file(let download)): return .downloaded(download)
    case .completed(.memory):
      return .unarchived(file, UnarchivedReason(.storage, "internal error: a download answered in memory"))
    case .unarchived(let reason): return .unarchived(file, reason)
    case .cancelled: return .cancelled(file)
    }
  }

  /// GETs `path` (below the base URL, e.g. `/containers/cntr_…`) and keeps the answer in memory.
  public func get(_ path: String, about subject: ContainerFileRef? = nil) async -> GetOutcome {
    switch await submit(subject: subject, TransferRequest(url: url(path), target: .memory)) {
    case .completed(.memory(let response)): return .ok(response)
    case .completed(.file):
      return .unarchived(UnarchivedReason(.storage, "internal error: a JSON answer went to a file"))
    case .unarchived(let reason): return .unarchived(reason)
    case .cancelled: return .cancelled
    }
  }

  func submit(subject: ContainerFileRef?, _ request: TransferRequest) async -> TransferOutcome {
    await withCheckedContinuation { continuation in
      submit(subject: subject, request) { continuation.resume(returning: $0) }
    }
  }

  /// Runs `request` and waits for its outcome, blocking the calling thread (never one of
  /// Swift's cooperative threads: callers are on Dispatch queues or their own threads).
  func perform(_ request: TransferRequest) -> TransferOutcome {
    let done = DispatchSemaphore(value: 0)
    let outcome = Locked<TransferOutcome>(.cancelled)
    submit(subject: nil, request) { result in
      outcome.withLock { $0 = result }
      done.signal()
    }
    done.wait()
    return outcome.withLock { $0 }
  }

  /// Queues `request`; `completion` is called once, on the engine's thread (or at once when
  /// the engine is stopping).
  func submit(
    subject: ContainerFileRef?, _ request: TransferRequest, completion: @escaping (TransferOutcome) -> Void
  ) {
    let transfer = Transfer(subject: subject, request: request, completion: completion)
    let rejected: Bool = lock.withLock {
      if fatal == nil && !stopping && !abandoning {
        // Small calls are urgent (a keep-alive must not wait behind a long queue of
        // downloads): they go first.
        if request.isBulk { queued.append(transfer) } else { queued.insert(transfer, at: 0) }
      }
      return fatal != nil || stopping || abandoning
    }
    if rejected {
      transfer.complete(.cancelled)
    } else {
      wake()
    }
  }

  /// Interrupts the engine thread's poll so it sees new work.
  private func wake() {
    do { try Curl.check(ccurl_multi_wakeup(multi), "curl_multi_wakeup") } catch { stop(with: error) }
  }

  /// Stops every transfer at once: a failure no request can get past.
  private func stop(with error: FetchError) {
    lock.withLock {
      if fatal == nil { fatal = error }
    }
  }

  /// Drops every transfer, running or queued: each answers `cancelled` and its partial file
  /// is removed. For a run that was told to stop and cannot wait for them.
  public func abandon() {
    lock.withLock { abandoning = true }
    wake()
  }

  /// Lets running transfers finish, then stops the thread. After the last download; a second
  /// call returns at once.
  public func shutdown() {
    let first = lock.withLock { () -> Bool in
      defer { shutDown = true }
      return !shutDown
    }
    guard first else { return }
    lock.withLock { stopping = true }
    wake()
    finished.wait()
  }

  // MARK: The engine thread

  private func run() {
    while true {
      let now = DispatchTime.now().uptimeNanoseconds
      let (starting, cancelled, done): ([Transfer], [Transfer], Bool) = lock.withLock {
        if fatal != nil || abandoning {
          let cancelled = queued + delayed
          queued = []
          delayed = []
          return ([], cancelled, true)  // the active ones are cancelled just below
        }
        let due = delayed.filter { $0.notBefore <= now }
        delayed.removeAll { $0.notBefore <= now }
        queued.insert(contentsOf: due, at: 0)
        let starting = takeStartable()
        let done = stopping && queued.isEmpty && delayed.isEmpty && active.isEmpty && starting.isEmpty
        return (starting, [], done)
      }
      for transfer in cancelled { transfer.complete(.cancelled) }
      if lock.withLock({ fatal != nil || abandoning }) { cancelActive() }
      if done { break }
      for transfer in starting { start(transfer) }

      var running: Int32 = 0
      do { try Curl.check(ccurl_multi_perform(multi, &running), "curl_multi_perform") } catch {
        stop(with: error)
        continue
      }
      var remaining: Int32 = 0
      while let message = ccurl_multi_info_read(multi, &remaining) {
        guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
        let result = ccurl_msg_result(message)
        if let transfer = active.removeValue(forKey: easy) {
          if transfer.request.isBulk { activeDownloads -= 1 }
          _ = ccurl_multi_remove_handle(multi, easy)  // a handle the multi owns: cannot fail
          finish(transfer, result: result)
        }
      }
      do {
        try Curl.check(
          ccurl_multi_poll(multi, nil, 0, pollTimeout(now: DispatchTime.now().uptimeNanoseconds), nil),
          "curl_multi_poll")
      } catch {
        stop(with: error)
      }
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
    transfer.request.isBulk
      ? activeDownloads < maximumConcurrent : active.count - activeDownloads < maximumCalls
  }

  /// Takes from the queue, in order, what free slots allow. Called with `lock` held.
  private func takeStartable() -> [Transfer] {
    var downloads = maximumConcurrent - activeDownloads
    var calls = maximumCalls - (active.count - activeDownloads)
    var starting: [Transfer] = []
    var waiting: [Transfer] = []
    for transfer in queued {
      if transfer.request.isBulk ? downloads > 0 : calls > 0 {
        if transfer.request.isBulk { downloads -= 1 } else { calls -= 1 }
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
      _ = ccurl_multi_remove_handle(multi, key)  // a handle the multi owns: cannot fail
      transfer.discard()
      transfer.complete(.cancelled)
    }
    active = [:]
    activeDownloads = 0
  }

  private func start(_ transfer: Transfer) {
    transfer.attempts += 1
    do {
      try transfer.prepare(endpoint: endpoint)
    } catch {
      transfer.discard()
      // An option libcurl refuses is refused for every request: the run cannot go on.
      stop(with: error)
      transfer.complete(.cancelled)
      return
    }
    guard let easy = transfer.easy else { return }
    do { try Curl.check(ccurl_multi_add_handle(multi, easy), "curl_multi_add_handle") } catch {
      transfer.discard()
      stop(with: error)
      transfer.complete(.cancelled)
      return
    }
    active[easy] = transfer
    if transfer.request.isBulk { activeDownloads += 1 }
  }

  private func finish(_ transfer: Transfer, result: CURLcode) {
    var verdict = transfer.verdict(result: result, endpoint: endpoint)
    if case .suspect(let reason, let suspicion) = verdict {
      verdict = judge(reason, suspicion)
    }
    switch verdict {
    case .success(let result):
      lock.withLock { healthy = true }
      transfer.release()
      transfer.complete(.completed(result))
    case .runWide(let message):
      transfer.discard()
      stop(with: FetchError(.runWide, endpoint.redact(message)))
      transfer.complete(.cancelled)
    case .suspect(let reason, _):
      // Not decided yet: tried again like a transient failure.
      retry(transfer, reason: endpoint.redact(reason), headers: [:])
    case .unarchived(var reason):
      if reason.isFinal { lock.withLock { healthy = true } }  // the API itself said so
      transfer.discard()
      reason.message = endpoint.redact(reason.message)
      transfer.complete(.unarchived(reason))
    case .transient(let reason, let headers):
      retry(transfer, reason: endpoint.redact(reason), headers: headers)
    case .rejected(let status, let reason):
      transfer.discard()
      let message = endpoint.redact(reason)
      lock.withLock {
        if fatal == nil { fatal = FetchError(.credentialsRejected(status: status), message) }
      }
      transfer.complete(.cancelled)
    }
  }

  /// A failure that may be true of every request: run-wide when the first attempts of the
  /// run all end this way, one request's once the API has answered anything.
  private func judge(_ reason: String, _ suspicion: Suspicion) -> TransferVerdict {
    let (isHealthy, count): (Bool, Int) = lock.withLock {
      if healthy { return (true, 0) }
      suspicions[suspicion, default: 0] += 1
      return (false, suspicions[suspicion]!)
    }
    if isHealthy {
      if case .http = suspicion { return .unarchived(UnarchivedReason(.rejected, reason)) }
      return .transient(reason, headers: [:])
    }
    guard count >= Self.runWideThreshold else { return .suspect(reason, suspicion) }
    return .runWide("every request fails the same way: \(reason); \(advice(for: suspicion))")
  }

  private func advice(for suspicion: Suspicion) -> String {
    let base = endpoint.baseURL
    let proxy = endpoint.proxy?.description
    let variable = endpoint.baseURLVariable
    switch suspicion {
    case .http where endpoint.dialect == .objectStore:
      return "that is not S3 answering: check \(variable)=\(base)"
    case .http:
      return
        "that is not the Containers API answering: check \(variable)=\(base) (it ends in /v1, as https://api.openai.com/v1 does)"
    case .curl(CURLE_COULDNT_CONNECT.rawValue):
      if let proxy { return "\(proxy) cannot be reached: check it, or exclude the API host with NO_PROXY" }
      return "nothing answers at \(base): check \(variable)"
    case .curl(CURLE_SSL_CONNECT_ERROR.rawValue):
      return
        "TLS could not be set up with \(base)\(proxy.map { " through \($0)" } ?? ""): is that an https port? (a plain-http server answers https:// so) check \(variable)"
    case .curl(CURLE_COULDNT_RESOLVE_HOST.rawValue):
      return "the host of \(base) cannot be resolved: check \(variable) and DNS"
    case .curl:
      return "check \(variable)=\(base)\(proxy.map { " and \($0)" } ?? "")"
    }
  }

  private func retry(_ transfer: Transfer, reason: String, headers: [String: String]) {
    guard transfer.attempts < policy.maximumAttempts else {
      transfer.discard()
      transfer.complete(
        .unarchived(UnarchivedReason(.gaveUp, "\(reason) (gave up after \(transfer.attempts) attempts)")))
      return
    }
    transfer.releaseForRetry()
    let delay = policy.delay(afterAttempt: transfer.attempts, headers: headers)
    onRetry?(transfer.subject, transfer.attempts + 1, reason, delay)
    transfer.notBefore = DispatchTime.now().uptimeNanoseconds + UInt64(delay * 1_000_000_000)
    lock.withLock { delayed.append(transfer) }
  }
}
