// The emulator's world: containers, their files and their idle expiry, shaped exactly like the
// recorded traffic in OPENAI-CONTAINERS.md (no Content-Type on content, `bytes: null` for
// assistant files, `content-disposition` with `filename*`).
import Foundation
import NIOConcurrencyHelpers

public struct EmulatedFile: Sendable {
  public var id: String
  /// The path inside the container, e.g. `/mnt/data/chart.png`.
  public var path: String
  /// `assistant` (made by the model: the API reports `bytes: null`) or `user`.
  public var source: String
  public var bytes: [UInt8]
  public var createdAt: Int64

  public init(id: String, path: String, source: String = "assistant", bytes: [UInt8], createdAt: Int64? = nil) {
    self.id = id
    self.path = path
    self.source = source
    self.bytes = bytes
    self.createdAt = createdAt ?? Int64(Date().timeIntervalSince1970)
  }
}

/// A request as the emulator saw it, for tests to assert on.
public struct LoggedRequest: Sendable, Equatable {
  public var method: String
  public var path: String
  public var status: Int
  /// True when the Authorization header matched the emulator's key.
  public var authorized: Bool
  public var headers: [String: String]
}

/// What a fault injector may do to one request instead of answering it normally.
public enum Fault: Sendable, Equatable {
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
  }

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

  func expire(_ id: String) {
    storage.withLockedValue { $0.containers[id]?.forcedExpired = true }
  }

  func touch(_ id: String, at date: Date) {
    storage.withLockedValue { $0.containers[id]?.lastActiveAt = date }
  }

  func log(_ request: LoggedRequest) {
    storage.withLockedValue { $0.requestLog.append(request) }
  }

  var requestLog: [LoggedRequest] { storage.withLockedValue { $0.requestLog } }

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
