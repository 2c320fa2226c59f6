// A local Containers API for tests, benchmarks and the offline demo. Tests start it in-process
// on 127.0.0.1 with port 0 and stop it when done; it never listens anywhere else by default.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

public final class ContainersEmulator: Sendable {
  public let apiKey: String
  let state: EmulatorState
  private let group: MultiThreadedEventLoopGroup
  private let channel = NIOLockedValueBox<(any Channel)?>(nil)
  private let injector = NIOLockedValueBox<(@Sendable (LoggedRequest) -> Fault?)?>(nil)
  private let latencyBox = NIOLockedValueBox<TimeAmount>(.zero)
  private let rangesBox = NIOLockedValueBox(true)

  /// - Parameters:
  ///   - ttl: idle seconds after which a container expires (the API's 20 minutes by default).
  ///   - clock: the emulator's notion of now; tests pass a fake one to expire containers.
  public init(apiKey: String, ttl: TimeInterval = 20 * 60, clock: @escaping @Sendable () -> Date = { Date() }) {
    self.apiKey = apiKey
    state = EmulatorState(ttl: ttl, clock: clock)
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
  }

  /// The port it listens on, once started.
  public var port: Int { channel.withLockedValue { $0?.localAddress?.port ?? 0 } }
  public var baseURL: String { "http://127.0.0.1:\(port)\(state.flavor == .azure ? "/openai" : "")/v1" }
  /// Azure's `AZURE_OPENAI_ENDPOINT`: the resource, without `/openai/v1`.
  public var endpoint: String { "http://127.0.0.1:\(port)" }

  /// Plays Azure OpenAI (paths under `/openai/v1`, the `api-key` header) or OpenAI.
  public func setFlavor(_ flavor: EmulatorFlavor) { state.flavor = flavor }

  /// A stored response, served by `GET /v1/responses/{id}` (`json` is the response object).
  public func storeResponse(id: String, json: String) { state.store(response: id, json: Array(json.utf8)) }

  /// A conversation whose items (`json` objects) `GET /v1/conversations/{id}/items` pages through.
  public func storeConversation(id: String, items: [String]) {
    state.store(conversation: id, items: items.map { Array($0.utf8) })
  }

  /// Starts listening (port 0: any free port; read `port` afterwards).
  public func start(host: String = "127.0.0.1", port: Int = 0) throws {
    let state = self.state
    let apiKey = self.apiKey
    let injector = self.injector
    let latency = self.latencyBox
    let ranges = self.rangesBox
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
          channel.pipeline.addHandler(
            RequestHandler(
              state: state, apiKey: apiKey, fault: { request in injector.withLockedValue { $0?(request) } },
              latency: { latency.withLockedValue { $0 } }, honoursRanges: { ranges.withLockedValue { $0 } }))
        }
      }
      .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    let bound = try bootstrap.bind(host: host, port: port).wait()
    channel.withLockedValue { $0 = bound }
  }

  public func stop() {
    let bound = channel.withLockedValue { current -> (any Channel)? in
      defer { current = nil }
      return current
    }
    try? bound?.close().wait()
    try? group.syncShutdownGracefully()
  }

  // MARK: The world

  /// Adds a container holding `files`; returns its id (a fresh `cntr_…` when not given).
  @discardableResult
  public func addContainer(
    id: String? = nil, name: String = "emulated", files: [EmulatedFile], lastActiveAt: Date? = nil
  )
    -> String
  {
    let identifier = id ?? "cntr_" + Self.randomHex(48)
    let now = state.clock()
    state.add(
      Container(
        id: identifier, name: name, createdAt: Int64(now.timeIntervalSince1970), lastActiveAt: lastActiveAt ?? now,
        files: files))
    return identifier
  }

  /// Expires a container now, whatever its idle time.
  public func expire(containerID: String) { state.expire(containerID) }

  /// Every request answered so far, in order.
  public var requestLog: [LoggedRequest] { state.requestLog }

  /// Decides, per request, whether to misbehave (nil: answer normally).
  public func setFaultInjector(_ decide: (@Sendable (LoggedRequest) -> Fault?)?) {
    injector.withLockedValue { $0 = decide }
  }

  /// Misbehaves on a seeded share of requests (see `FaultPlan`).
  public func setFaultPlan(_ plan: FaultPlan?) {
    guard let plan else { return setFaultInjector(nil) }
    let state = self.state
    setFaultInjector { _ in plan.fault(forRequest: state.nextFaultIndex()) }
  }

  /// Whether `Range` requests get 206 (the default) or, as from a server without range
  /// support, the whole file with 200.
  public func setHonoursRanges(_ honours: Bool) {
    rangesBox.withLockedValue { $0 = honours }
  }

  /// Calls `observe` for every request answered (from the event loop's thread).
  public func onRequest(_ observe: (@Sendable (LoggedRequest) -> Void)?) {
    state.observer.withLockedValue { $0 = observe }
  }

  /// Delay added before every answer, as a slow network would.
  public func setLatency(_ seconds: Double) {
    latencyBox.withLockedValue { $0 = .nanoseconds(Int64(seconds * 1e9)) }
  }

  public static func randomHex(_ count: Int) -> String {
    String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
  }
}
