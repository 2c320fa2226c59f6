// The emulator's world: containers, their files and their idle expiry, shaped exactly like the
// recorded traffic in OPENAI-CONTAINERS.md (no Content-Type on content, `bytes: null` for
// assistant files, `content-disposition` with `filename*`).
import Foundation
import NIOConcurrencyHelpers

public struct EmulatedFile: Sendable {
  /// The bytes, in memory or (for large files) in a file on disk that is streamed.
  public enum Content: Sendable {
    case bytes([UInt8])
    case file(path: String, size: Int64)

    public var size: Int64 {
      switch self {
      case .bytes(let bytes): Int64(bytes.count)
      case .file(_, let size): size
      }
    }
  }

  public var id: String
  /// The path inside the container, e.g. `/mnt/data/chart.png`.
  public var path: String
  /// `assistant` (made by the model: the API reports `bytes: null`) or `user`.
  public var source: String
  public var content: Content
  public var createdAt: Int64

  public init(id: String, path: String, source: String = "assistant", bytes: [UInt8], createdAt: Int64? = nil) {
    self.init(id: id, path: path, source: source, content: .bytes(bytes), createdAt: createdAt)
  }

  public init(id: String, path: String, source: String = "assistant", content: Content, createdAt: Int64? = nil) {
    self.id = id
    self.path = path
    self.source = source
    self.content = content
    self.createdAt = createdAt ?? Int64(Date().timeIntervalSince1970)
  }

  /// The bytes of an in-memory file (empty for files on disk).
  public var bytes: [UInt8] {
    get { if case .bytes(let bytes) = content { bytes } else { [] } }
    set { content = .bytes(newValue) }
  }
}

/// A request as the emulator saw it, for tests to assert on.
public struct LoggedRequest: Sendable, Equatable {
  public var method: String
  public var path: String
  public var status: Int
  /// True when the credential (a bearer token, or Azure's `api-key`) matched the emulator's key.
  public var authorized: Bool
  public var headers: [String: String]
  /// The query string's items (`api-version`, `after`, …).
  public var query: [String: String] = [:]
}

/// Whose API the emulator plays.
public enum EmulatorFlavor: Sendable, Equatable {
  /// OpenAI: `/v1/…`, `Authorization: Bearer KEY`.
  case openai
  /// Azure OpenAI: `/openai/v1/…`, `api-key: KEY` (or a bearer Entra token equal to KEY).
  case azure
}

/// What a fault injector may do to one request instead of answering it normally.
public enum Fault: Sendable, Equatable, CaseIterable {
  public static let allCases: [Fault] = [
    .status(429, retryAfterSeconds: 0.05), .status(500), .status(502), .status(503), .errorJSONWithOK, .resetMidBody,
    .truncatedBody, .stall(seconds: 1.5),
  ]

  /// Answer with this status and an OpenAI-style error body.
  case status(Int, retryAfterSeconds: Double? = nil)
  /// Answer 200 with an error JSON body, as some proxies do.
  case errorJSONWithOK
  /// Send the headers and half the body, then close the connection.
  case resetMidBody
  /// Promise the full Content-Length, send part of the body, then end the connection cleanly.
  case truncatedBody
  /// Send nothing for this long, then answer normally.
  case stall(seconds: Double)
}

/// Faults at a steady rate, chosen by a seeded generator: the same seed gives the same faults
/// for the same sequence of requests.
public struct FaultPlan: Sendable {
  public var rate: Double
  public var faults: [Fault]
  public var seed: UInt64

  public init(rate: Double, faults: [Fault] = Fault.allCases, seed: UInt64 = 1) {
    self.rate = rate
    self.faults = faults
    self.seed = seed
  }

  /// The fault for the `index`-th request, if any (SplitMix64 of seed and index).
  public func fault(forRequest index: UInt64) -> Fault? {
    guard !faults.isEmpty else { return nil }
    var z = seed &+ index &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    let unit = Double(z >> 11) / Double(1 << 53)
    guard unit < rate else { return nil }
    return faults[Int(z % UInt64(faults.count))]
  }
}

struct Container {
  var id: String
  var name: String
  var createdAt: Int64
  var lastActiveAt: Date
  var forcedExpired = false
  var files: [EmulatedFile]
}

final class EmulatorState: Sendable {
  private struct Mutable {
    var containers: [String: Container] = [:]
    var requestLog: [LoggedRequest] = []
    var requestCounter = 0
    var faultCounter: UInt64 = 0
    var flavor = EmulatorFlavor.openai
    /// Stored responses (`GET /v1/responses/{id}`), as the JSON the API returns.
    var responses: [String: [UInt8]] = [:]
    /// Conversations (`GET /v1/conversations/{id}/items`): each item's JSON, in order.
    var conversations: [String: [[UInt8]]] = [:]
  }

  var flavor: EmulatorFlavor {
    get { storage.withLockedValue { $0.flavor } }
    set { storage.withLockedValue { $0.flavor = newValue } }
  }

  func store(response id: String, json: [UInt8]) { storage.withLockedValue { $0.responses[id] = json } }
  func response(_ id: String) -> [UInt8]? { storage.withLockedValue { $0.responses[id] } }
  func store(conversation id: String, items: [[UInt8]]) { storage.withLockedValue { $0.conversations[id] = items } }
  func conversation(_ id: String) -> [[UInt8]]? { storage.withLockedValue { $0.conversations[id] } }

  private let storage = NIOLockedValueBox(Mutable())
  let ttl: TimeInterval
  let clock: @Sendable () -> Date

  init(ttl: TimeInterval, clock: @escaping @Sendable () -> Date) {
    self.ttl = ttl
    self.clock = clock
  }

  func add(_ container: Container) {
    storage.withLockedValue { $0.containers[container.id] = container }
  }

  /// Every container, newest first, as the list endpoint orders them.
  func containers() -> [Container] {
    storage.withLockedValue { state in
      state.containers.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }
  }

  func expire(_ id: String) {
    storage.withLockedValue { $0.containers[id]?.forcedExpired = true }
  }

  func touch(_ id: String, at date: Date) {
    storage.withLockedValue { $0.containers[id]?.lastActiveAt = date }
  }

  /// Also told of every request (the emulator program's `--log-requests`).
  let observer = NIOLockedValueBox<(@Sendable (LoggedRequest) -> Void)?>(nil)

  func log(_ request: LoggedRequest) {
    storage.withLockedValue { $0.requestLog.append(request) }
    observer.withLockedValue { $0 }?(request)
  }

  var requestLog: [LoggedRequest] { storage.withLockedValue { $0.requestLog } }

  func nextFaultIndex() -> UInt64 {
    storage.withLockedValue { state in
      defer { state.faultCounter += 1 }
      return state.faultCounter
    }
  }

  func nextRequestID() -> String {
    storage.withLockedValue { state in
      state.requestCounter += 1
      return String(format: "req_%032x", state.requestCounter)
    }
  }

  enum Lookup {
    case missing
    case expired
    case alive(Container)
  }

  /// Finds a container and, when it is alive, refreshes its `last_active_at` (any operation
  /// does, as with the real API).
  func use(_ id: String) -> Lookup {
    let now = clock()
    return storage.withLockedValue { state in
      guard var container = state.containers[id] else { return .missing }
      if container.forcedExpired || now.timeIntervalSince(container.lastActiveAt) > ttl { return .expired }
      container.lastActiveAt = now
      state.containers[id] = container
      return .alive(container)
    }
  }
}
