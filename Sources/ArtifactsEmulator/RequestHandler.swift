// Routes one HTTP/1.1 request to the emulated API and writes the answer, or the fault the
// injector chose instead.
import Foundation
import NIOCore
import NIOHTTP1

final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let state: EmulatorState
  private let apiKey: String
  private let fault: @Sendable (LoggedRequest) -> Fault?
  private let latency: @Sendable () -> TimeAmount
  private let honoursRanges: @Sendable () -> Bool
  private var head: HTTPRequestHead?

  init(
    state: EmulatorState, apiKey: String, fault: @escaping @Sendable (LoggedRequest) -> Fault?,
    latency: @escaping @Sendable () -> TimeAmount, honoursRanges: @escaping @Sendable () -> Bool
  ) {
    self.state = state
    self.apiKey = apiKey
    self.fault = fault
    self.latency = latency
    self.honoursRanges = honoursRanges
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
    case .body:
      break
    case .end:
      guard let head else { return }
      self.head = nil
      let delay = latency()
      if delay > .zero {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: delay) {
          let (handler, context) = loopBound.value
          handler.respond(to: head, context: context)
        }
      } else {
        respond(to: head, context: context)
      }
    }
  }

  // MARK: Routing

  struct Answer {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: [UInt8]
    /// A slice of a file on disk to stream instead of `body`.
    var file: (path: String, offset: Int64, length: Int64)?

    var length: Int64 { file?.length ?? Int64(body.count) }
  }

  private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
    let flavor = state.flavor
    let bearer = head.headers["authorization"].first == "Bearer \(apiKey)"
    let authorized = flavor == .azure ? (head.headers["api-key"].first == apiKey || bearer) : bearer
    var path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
    // Azure serves the same API below /openai; anything else there is not found.
    if flavor == .azure {
      path = path.hasPrefix("/openai/") ? String(path.dropFirst("/openai".count)) : "/azure" + path
    }
    let query = Self.queryItems(head.uri)
    var answer: Answer
    if !authorized {
      answer = Self.error(
        .unauthorized,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        code: "invalid_api_key")
    } else if head.method != .GET {
      answer = Self.error(.methodNotAllowed, "The emulator only implements GET.")
    } else {
      answer = route(path: path, query: query, range: honoursRanges() ? head.headers["range"].first : nil)
    }
    var headers: [String: String] = [:]
    for (name, value) in head.headers {
      headers[name.lowercased()] = ["authorization", "api-key"].contains(name.lowercased()) ? "<set>" : value
    }
    var logged = LoggedRequest(
      method: "\(head.method)", path: path, status: Int(answer.status.code), authorized: authorized, headers: headers,
      query: query)
    let chosenFault = authorized ? fault(logged) : nil
    if case .status(let code, let retryAfter) = chosenFault {
      answer = Self.error(HTTPResponseStatus(statusCode: code), "Injected fault \(code).")
      if let retryAfter { answer.headers.append(("retry-after", String(retryAfter))) }
      logged.status = code
    } else if chosenFault == .errorJSONWithOK {
      answer = Self.error(.ok, "The server had an error while processing your request.", type: "server_error")
    }
    state.log(logged)
    write(answer, head: head, fault: chosenFault, context: context)
  }

  private func route(path: String, query: [String: String], range: String?) -> Answer {
    let parts = path.split(separator: "/").map(String.init)
    if parts.count == 3, parts[0] == "v1", parts[1] == "responses" {
      guard let json = state.response(parts[2]) else {
        return Self.error(.notFound, "Response with id '\(parts[2])' not found.")
      }
      return Answer(status: .ok, headers: [("content-type", "application/json")], body: json)
    }
    if parts.count == 4, parts[0] == "v1", parts[1] == "conversations", parts[3] == "items" {
      guard let items = state.conversation(parts[2]) else {
        return Self.error(.notFound, "Conversation with id '\(parts[2])' not found.")
      }
      return conversationPage(items, query: query)
    }
    if parts.count == 2, parts[0] == "v1", parts[1] == "containers" {
      let limit = max(1, min(100, Int(query["limit"] ?? "") ?? 20))
      let all = state.containers()
      let page = all.prefix(limit).map(containerObject)
      return Self.json([
        "object": "list", "data": page, "first_id": page.first?["id"] ?? NSNull(),
        "last_id": page.last?["id"] ?? NSNull(), "has_more": all.count > limit,
      ])
    }
    guard parts.count >= 3, parts[0] == "v1", parts[1] == "containers" else {
      return Self.error(.notFound, "Invalid URL (GET \(path))")
    }
    let containerID = parts[2]
    let container: Container
    switch state.use(containerID) {
    case .missing:
      return Self.error(.notFound, "No container found with id '\(containerID)'.")
    case .expired:
      return Self.error(.badRequest, "Container is expired.")
    case .alive(let found):
      container = found
    }
    switch parts.count {
    case 3:
      return Self.json(containerObject(container))
    case 4 where parts[3] == "files":
      return listFiles(container, query: query)
    case 5 where parts[3] == "files", 6 where parts[3] == "files" && parts[5] == "content":
      guard let file = container.files.first(where: { $0.id == parts[4] }) else {
        return Self.error(.notFound, "File \(parts[4]) not found on container \(containerID)")
      }
      return parts.count == 5 ? Self.json(Self.fileObject(file, container: containerID)) : content(file, range: range)
    default:
      return Self.error(.notFound, "Invalid URL (GET \(path))")
    }
  }

  private func containerObject(_ container: Container) -> [String: Any] {
    // Whole minutes and seconds, as the API reports them; a test's TTL of a few seconds is
    // reported in fractions so clients can reason about it the same way.
    let whole = state.ttl.truncatingRemainder(dividingBy: 60) == 0
    let lastActive = container.lastActiveAt.timeIntervalSince1970
    return [
      "id": container.id, "object": "container", "name": container.name, "created_at": container.createdAt,
      "status": "running", "last_active_at": whole ? Int64(lastActive) as Any : lastActive as Any,
      "expires_after": [
        "anchor": "last_active_at", "minutes": whole ? Int(state.ttl / 60) as Any : state.ttl / 60 as Any,
      ],
      "memory_limit": "1g",
    ]
  }

  static func fileObject(_ file: EmulatedFile, container: String) -> [String: Any] {
    [
      "id": file.id, "object": "container.file", "created_at": file.createdAt,
      // The real API reports null for files the model made; only uploads have a size.
      "bytes": file.source == "assistant" ? NSNull() : file.content.size as Any,
      "container_id": container, "path": file.path, "source": file.source,
    ]
  }

  private func listFiles(_ container: Container, query: [String: String]) -> Answer {
    let limit = min(100, max(1, Int(query["limit"] ?? "") ?? 20))
    let ascending = query["order"] == "asc"
    var files = container.files.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    if !ascending { files.reverse() }
    if let after = query["after"], let index = files.firstIndex(where: { $0.id == after }) {
      files = Array(files[(index + 1)...])
    }
    let page = Array(files.prefix(limit))
    return Self.json([
      "object": "list", "data": page.map { Self.fileObject($0, container: container.id) },
      "first_id": page.first?.id as Any? ?? NSNull(), "last_id": page.last?.id as Any? ?? NSNull(),
      "has_more": files.count > limit,
    ])
  }

  private func content(_ file: EmulatedFile, range: String?) -> Answer {
    let name = (file.path as NSString).lastPathComponent
    let ext = (name as NSString).pathExtension
    let encoded =
      name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
      ?? "file"
    // As recorded: no Content-Type, a generic plain filename and the real one in filename*.
    var headers = [
      (
        "content-disposition",
        "attachment; filename=\"file\(ext.isEmpty ? "" : "." + ext)\"; filename*=UTF-8''\(encoded)"
      ),
      ("accept-ranges", "bytes"),
    ]
    let size = file.content.size
    var start: Int64 = 0
    var status = HTTPResponseStatus.ok
    if let range, range.hasPrefix("bytes="), range.hasSuffix("-"),
      let from = Int64(range.dropFirst("bytes=".count).dropLast()), from >= 0
    {
      guard from < size else {
        var answer = Self.error(.rangeNotSatisfiable, "Requested range not satisfiable.")
        answer.headers.append(("content-range", "bytes */\(size)"))
        return answer
      }
      start = from
      status = .partialContent
      headers.append(("content-range", "bytes \(from)-\(size - 1)/\(size)"))
    }
    switch file.content {
    case .bytes(let bytes):
      return Answer(status: status, headers: headers, body: Array(bytes[Int(start)...]))
    case .file(let path, _):
      return Answer(status: status, headers: headers, body: [], file: (path, start, size - start))
    }
  }

  // MARK: Writing

  private func write(_ answer: Answer, head: HTTPRequestHead, fault: Fault?, context: ChannelHandlerContext) {
    var headers = HTTPHeaders()
    for (name, value) in answer.headers { headers.add(name: name, value: value) }
    headers.add(name: "content-length", value: String(answer.length))
    headers.add(name: "x-request-id", value: state.nextRequestID())
    headers.add(name: "openai-version", value: "2020-10-01")
    headers.add(name: "date", value: Self.httpDate(state.clock()))
    let keepAlive = head.isKeepAlive
    headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
    let responseHead = HTTPResponseHead(version: head.version, status: answer.status, headers: headers)
    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)

    switch fault {
    case .resetMidBody, .truncatedBody:
      // Headers promise the whole body; half of it arrives, then the connection ends.
      context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
      let channel = context.channel
      let abort = fault == .resetMidBody
      sendBody(answer, limit: answer.length / 2, context: context) {
        if abort, let options = channel as? any SocketOptionProvider {
          // SO_LINGER 0 turns the close into a TCP reset.
          options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        } else {
          channel.close(promise: nil)
        }
      }
    case .stall(let seconds):
      context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
        let (handler, context) = loopBound.value
        handler.writeWhole(responseHead, answer, keepAlive: keepAlive, context: context)
      }
    default:
      writeWhole(responseHead, answer, keepAlive: keepAlive, context: context)
    }
  }

  private func writeWhole(_ head: HTTPResponseHead, _ answer: Answer, keepAlive: Bool, context: ChannelHandlerContext) {
    context.write(wrapOutboundOut(.head(head)), promise: nil)
    let channel = context.channel
    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    sendBody(answer, limit: answer.length, context: context) {
      let (handler, context) = loopBound.value
      context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
        if !keepAlive { channel.close(promise: nil) }
      }
    }
  }

  /// Sends the first `limit` bytes of the body, then calls `done`. Files are read and sent in
  /// 1 MiB pieces, each after the previous one was written, so memory stays flat however large
  /// the file.
  private func sendBody(
    _ answer: Answer, limit: Int64, context: ChannelHandlerContext, done: @escaping @Sendable () -> Void
  ) {
    guard let file = answer.file else {
      var buffer = context.channel.allocator.buffer(capacity: Int(limit))
      buffer.writeBytes(answer.body.prefix(Int(limit)))
      context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { _ in done() }
      return
    }
    let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      context.close(promise: nil)
      return
    }
    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    let end = file.offset + limit
    @Sendable func sendPiece(from offset: Int64) {
      let (handler, context) = loopBound.value
      guard offset < end else {
        close(descriptor)
        done()
        return
      }
      let count = Int(min(1 << 20, end - offset))
      var buffer = context.channel.allocator.buffer(capacity: count)
      let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
        max(0, pread(descriptor, raw.baseAddress, count, off_t(offset)))
      }
      guard read > 0 else {
        close(descriptor)
        context.close(promise: nil)
        return
      }
      context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { result in
        if case .failure = result {
          close(descriptor)
          return
        }
        sendPiece(from: offset + Int64(read))
      }
    }
    sendPiece(from: file.offset)
  }

  // MARK: Helpers

  static func error(
    _ status: HTTPResponseStatus, _ message: String, type: String = "invalid_request_error", code: String? = nil
  )
    -> Answer
  {
    let body: [String: Any] = [
      "error": ["message": message, "type": type, "param": NSNull(), "code": code as Any? ?? NSNull()]
    ]
    var answer = json(body)
    answer.status = status
    return answer
  }

  static func json(_ object: [String: Any]) -> Answer {
    Answer(status: .ok, headers: [("content-type", "application/json")], body: JSONText.encode(object))
  }

  /// A page of a conversation's items, as the API pages: `limit` (default 20), `after` an
  /// item id, `has_more` and `last_id`.
  private func conversationPage(_ items: [[UInt8]], query: [String: String]) -> Answer {
    let limit = max(1, min(100, Int(query["limit"] ?? "") ?? 20))
    let ids = items.map { item -> String in
      ((try? JSONSerialization.jsonObject(with: Data(item))) as? [String: Any])?["id"] as? String ?? ""
    }
    var start = 0
    if let after = query["after"], let index = ids.firstIndex(of: after) { start = index + 1 }
    let page = Array(start..<min(items.count, start + limit))
    var body = Array(#"{"object":"list","data":["#.utf8)
    for (position, index) in page.enumerated() {
      if position > 0 { body.append(UInt8(ascii: ",")) }
      body += items[index]
    }
    let last = page.last.map { "\"\(ids[$0])\"" } ?? "null"
    let first = page.first.map { "\"\(ids[$0])\"" } ?? "null"
    body += Array(#"],"first_id":\#(first),"last_id":\#(last),"has_more":\#(start + limit < items.count)}"#.utf8)
    return Answer(status: .ok, headers: [("content-type", "application/json")], body: body)
  }

  static func queryItems(_ uri: String) -> [String: String] {
    guard let components = URLComponents(string: uri) else { return [:] }
    var items: [String: String] = [:]
    for item in components.queryItems ?? [] { items[item.name] = item.value ?? "" }
    return items
  }

  /// RFC 7231 `Wed, 26 Nov 2026 04:23:09 GMT`, for every answer: no formatter object per call.
  static func httpDate(_ date: Date) -> String {
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    var time = time_t(date.timeIntervalSince1970)
    var parts = tm()
    gmtime_r(&time, &parts)
    return String(
      format: "%@, %02d %@ %04d %02d:%02d:%02d GMT", days[Int(parts.tm_wday)], Int(parts.tm_mday),
      months[Int(parts.tm_mon)], Int(parts.tm_year) + 1900, Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
  }
}
