// `artifacts serve`: the archive in a browser, on 127.0.0.1 only, behind a token. Built on
// Hummingbird 2 (SwiftNIO, structured concurrency, small; the emulator already runs on NIO)
// with swift-mustache templates, which escape HTML by default.
import ArtifactsCore
import ArtifactsKit
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

public struct GalleryServer: Sendable {
  public struct Configuration: Sendable {
    /// 0: any free port.
    public var port: Int
    /// When `port` is taken, listen on any free port instead of failing.
    public var anyPortIfTaken: Bool
    public var token: String

    public init(port: Int, anyPortIfTaken: Bool = false, token: String = GalleryServer.makeToken()) {
      self.port = port
      self.anyPortIfTaken = anyPortIfTaken
      self.token = token
    }
  }

  public let store: ArtifactStore
  public let configuration: Configuration

  public init(store: ArtifactStore, configuration: Configuration) {
    self.store = store
    self.configuration = configuration
  }

  /// 32 random bytes as hex: what the printed address carries.
  public static func makeToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }

  /// Serves until SIGINT or SIGTERM. `onReady` is given the address to open (with the token)
  /// once the port is listening.
  public func run(onReady: @escaping @Sendable (String) -> Void) async throws(WebError) {
    let templates: Templates
    do { templates = try Templates() } catch {
      throw WebError(.unavailable, "the page templates do not parse: \(error)")
    }
    let started = StartFlag()
    do {
      try await serve(port: configuration.port, templates: templates, started: started, onReady: onReady)
    } catch let error as WebError {
      throw error
    } catch {
      if !started.isSet, configuration.anyPortIfTaken, configuration.port != 0 {
        do {
          try await serve(port: 0, templates: templates, started: started, onReady: onReady)
          return
        } catch {
          throw WebError(.cannotListen, "cannot listen on 127.0.0.1: \(error)")
        }
      }
      if !started.isSet {
        throw WebError(
          .cannotListen, "cannot listen on 127.0.0.1:\(configuration.port) (\(error)); choose another with --port")
      }
      throw WebError(.unavailable, "the server stopped: \(error)")
    }
  }

  private func serve(
    port: Int, templates: Templates, started: StartFlag, onReady: @escaping @Sendable (String) -> Void
  ) async throws {
    let token = configuration.token
    let boundPort = PortBox()
    let router = makeRouter(templates: templates, cookieName: { "artifacts-token-\(boundPort.value)" }, token: token)
    let application = Application(
      router: router,
      configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port), serverName: "artifacts"),
      onServerRunning: { channel in
        let actual = channel.localAddress?.port ?? port
        boundPort.value = actual
        started.set()
        onReady("http://127.0.0.1:\(actual)/?token=\(token)")
      },
      logger: Logger(label: "artifacts.serve") { _ in SwiftLogNoOpLogHandler() })
    try await application.runService()
  }

  func makeRouter(templates: Templates, cookieName: @escaping @Sendable () -> String, token: String)
    -> Router<BasicRequestContext>
  {
    let gallery = Gallery(store: store)
    let pages = Pages(gallery: gallery, templates: templates)
    let downloads = Downloads(gallery: gallery)
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: PageHeaders(pages: pages))
    router.add(middleware: TokenAuthentication(token: token, cookieName: cookieName))
    router.get("/") { request, _ in try await pages.galleryPage(request) }
    router.get("/problems") { request, _ in try await pages.problemsPage(request) }
    router.get("/file/:container/:file") { request, context in
      try await pages.filePage(
        request, containerID: try context.parameters.require("container"),
        fileID: try context.parameters.require("file"))
    }
    router.get("/blob/:digest") { request, context in
      try await downloads.blob(request, digestText: try context.parameters.require("digest"))
    }
    router.get("/thumb/:name") { request, context in
      try await downloads.thumbnail(request, name: try context.parameters.require("name"))
    }
    router.get("/export") { request, _ in try await downloads.export(request) }
    router.get("/static/style.css") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "private, max-age=3600"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: Templates.styleSheet)))
    }
    return router
  }
}

/// Headers every response carries, error pages for what went wrong, and the server's own
/// time (`Server-Timing`), which the benchmark reads.
struct PageHeaders<Context: RequestContext>: RouterMiddleware {
  let pages: Pages

  /// The app's own pages load only their style sheet and images from this origin, run no
  /// script and cannot be framed.
  static var pagePolicy: String {
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
  }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    let clock = ContinuousClock()
    let start = clock.now
    var response: Response
    do {
      response = try await next(request, context)
    } catch let error as WebError {
      response = await pages.errorPage(error)
    } catch let error as HTTPError {
      response = await pages.errorPage(
        WebError(
          error.status == .notFound ? .notFound : .badRequest, "\(request.uri.path): \(error.status.reasonPhrase)"))
      response.status = error.status
    } catch {
      response = await pages.errorPage(WebError(.unavailable, "\(error)"))
    }
    if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = Self.pagePolicy }
    response.headers[.xContentTypeOptions] = "nosniff"
    response.headers[.referrerPolicy] = "no-referrer"
    response.headers[.xFrameOptions] = "DENY"
    response.headers[.crossOriginResourcePolicy] = "same-origin"
    let elapsed = clock.now - start
    let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    response.headers[.serverTiming] = String(format: "app;dur=%.2f", milliseconds)
    return response
  }
}

private final class StartFlag: Sendable {
  private let flag = Mutex(false)
  var isSet: Bool { flag.withLock { $0 } }
  func set() { flag.withLock { $0 = true } }
}

private final class PortBox: Sendable {
  private let port = Mutex(0)
  var value: Int {
    get { port.withLock { $0 } }
    set { port.withLock { $0 = newValue } }
  }
}
