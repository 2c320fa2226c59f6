// One request's state while libcurl moves its bytes. Lives on the engine thread only.
import ArtifactsCore
import CCurl
import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One HTTP request as the engine carries it.
struct TransferRequest {
  enum Method: String { case get = "GET", head = "HEAD", put = "PUT", post = "POST", delete = "DELETE" }

  /// What is sent after the headers.
  enum Body {
    case none
    /// `length` bytes of a file from `offset` (an object, or one part of it), read as they go.
    case file(path: String, offset: Int64, length: Int64)
    /// A small body held in memory (an XML request).
    case bytes([UInt8])
  }

  var method: Method = .get
  var url: String
  /// Header lines beside the endpoint's own.
  var headers: [String] = []
  var body: Body = .none
  var target: TransferTarget
  /// Statuses besides 2xx that are the server's answer rather than a failure (a 412 to a
  /// conditional PUT, a 404 to a HEAD).
  var answers: Set<Int> = []

  /// Moves many bytes (a download or an upload): takes one of the `--jobs` slots.
  var isBulk: Bool { target.isFile || !body.isEmpty && !body.isSmall }

  /// `GET https://…`, for messages.
  var line: String { "\(method.rawValue) \(url)" }
}

extension TransferRequest.Body {
  var isEmpty: Bool {
    if case .none = self { return true }
    return false
  }

  var isSmall: Bool {
    if case .bytes = self { return true }
    return false
  }

  /// The SHA-256 SigV4 signs: of the bytes when they are at hand, else S3's `UNSIGNED-PAYLOAD`.
  var payloadHash: String {
    switch self {
    case .none: Digest(bytes: SHA256.hash(data: [UInt8]())).hex
    case .bytes(let bytes): Digest(bytes: SHA256.hash(data: bytes)).hex
    case .file: "UNSIGNED-PAYLOAD"
    }
  }
}

/// Where a response body goes.
enum TransferTarget {
  /// A temp file, hashed on the way (file contents).
  case file(path: String)
  /// Memory, up to a limit (small JSON answers: container status, file listings).
  case memory
}

enum TransferVerdict {
  case success(TransferResult)
  /// True of every request, not one file's fault (a certificate, a proxy, the base URL): the
  /// run stops at once, and no file's state changes.
  case runWide(String)
  /// A failure that may be run-wide: retried like a transient one, and taken as run-wide
  /// when the first requests of a run all end this way.
  case suspect(String, Suspicion)
  /// The answer is final for this request: lost when the reason is the server's word that
  /// the file or container is gone, failed (tried again by a later run) otherwise.
  case unarchived(UnarchivedReason)
  case transient(String, headers: [String: String])
  case rejected(status: Int, String)
}

/// How a possibly run-wide failure looked, so that alike ones are counted together.
enum Suspicion: Hashable {
  /// An HTTP status that is not the API's word about any file (a 404 from a wrong base URL).
  case http(Int)
  /// A libcurl result (its raw value): the server or the proxy is unreachable, TLS to a plain port.
  case curl(UInt32)
}

enum TransferResult: Sendable {
  case file(CompletedDownload)
  case memory(FetchedResponse)
}

/// What the engine hands back for any request.
enum TransferOutcome: Sendable {
  case completed(TransferResult)
  case unarchived(UnarchivedReason)
  case cancelled
}

final class Transfer {
  static let prefixLength = 512
  static let errorBodyLimit = 64 * 1024
  static let memoryLimit = 16 << 20

  /// What the request is for, in messages (`cntr_…/cfile_…`, or a path).
  let subject: ContainerFileRef?
  let request: TransferRequest
  var url: String { request.url }
  var target: TransferTarget { request.target }
  private var completion: ((TransferOutcome) -> Void)?
  var attempts = 0
  var notBefore: UInt64 = 0

  private(set) var easy: UnsafeMutableRawPointer?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  /// libcurl writes its detailed error text here; it must stay at one address for the handle's life.
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  private var descriptor: Int32 = -1
  /// The file an upload reads from, and how far it has been sent in this attempt.
  private var uploadDescriptor: Int32 = -1
  private var uploaded: Int64 = 0
  /// The MD5 of what was sent, to compare with the ETag S3 answers (the MD5 of what it stored).
  private var uploadHasher = Insecure.MD5()
  private var hasher = SHA256()
  /// Body bytes received so far, counting those kept from earlier attempts.
  private var size: Int64 = 0
  /// Bytes kept from an interrupted attempt, asked for again with `Range`.
  private var resumeFrom: Int64 = 0
  private var status = 0
  private var headers: [String: String] = [:]
  private var prefix: [UInt8] = []
  private var memory: [UInt8] = []
  private var errorBody: [UInt8] = []
  private var writeFailure: String?
  /// Set by `verdict` when the body was good as far as it went and may be resumed.
  private var partialBodyIsGood = false

  init(subject: ContainerFileRef?, request: TransferRequest, completion: @escaping (TransferOutcome) -> Void) {
    self.subject = subject
    self.request = request
    self.completion = completion
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
  }

  deinit {
    release()
    errorBuffer.deallocate()
  }

  func complete(_ outcome: TransferOutcome) {
    completion?(outcome)
    completion = nil
  }

  /// Sets up a fresh easy handle for the next attempt, resuming a kept partial body.
  func prepare(endpoint: Endpoint) throws(FetchError) {
    release()
    status = 0
    headers = [:]
    errorBody = []
    writeFailure = nil
    memory = []
    errorBuffer[0] = 0
    if case .file(let path) = target {
      descriptor = open(path, O_WRONLY | O_CREAT | (resumeFrom > 0 ? O_APPEND : 0) | O_CLOEXEC, 0o600)
      guard descriptor >= 0 else {
        throw FetchError(.transport, "cannot create \(path): \(String(cString: strerror(errno)))")
      }
      // Emptied only when an earlier attempt left bytes (`size` still counts them): ext4
      // writes a file back when it is closed after a truncation (its guard against
      // zero-length files after a crash), and O_TRUNC on every fresh, empty staging file
      // made each close wait for that (7% of a sync).
      if resumeFrom == 0 && size > 0 { _ = ftruncate(descriptor, 0) }
    }
    if resumeFrom == 0 {
      hasher = SHA256()
      size = 0
      prefix = []
    }
    guard let easy = ccurl_easy_init() else { throw FetchError(.transport, "libcurl could not create a transfer") }
    self.easy = easy
    let me = Unmanaged.passUnretained(self).toOpaque()
    let options = CurlEasy(handle: easy)
    var headerLines = request.headers
    switch endpoint.credentials {
    case .headers(let lines):
      headerLines += lines
      headerLines.append(target.isFile ? "Accept: application/binary" : "Accept: application/json")
    case .sigV4(let region, let accessKey, let secretKey, let sessionToken):
      // libcurl signs each request itself, payload hash included (the digest, for an object).
      try options.set(CURLOPT_AWS_SIGV4, "CURLOPT_AWS_SIGV4", "aws:amz:\(region):s3")
      try options.set(CURLOPT_USERNAME, "CURLOPT_USERNAME", accessKey)
      try options.set(CURLOPT_PASSWORD, "CURLOPT_PASSWORD", secretKey)
      // (No `Expect:` line to drop libcurl's 100-continue: libcurl would sign the empty header
      // it then leaves out, and S3 would reject the signature.)
      if let sessionToken { headerLines.append("x-amz-security-token: \(sessionToken)") }
      // S3 wants the payload's hash named in a header, and libcurl signs with the one given.
      if !headerLines.contains(where: { $0.lowercased().hasPrefix("x-amz-content-sha256:") }) {
        headerLines.append("x-amz-content-sha256: \(request.body.payloadHash)")
      }
    }
    for line in headerLines { headerList = ccurl_slist_append(headerList, line) }

    try options.set(CURLOPT_URL, "CURLOPT_URL", url)
    try options.set(CURLOPT_HTTPHEADER, "CURLOPT_HTTPHEADER", list: headerList)
    try options.set(CURLOPT_USERAGENT, "CURLOPT_USERAGENT", endpoint.userAgent)
    if resumeFrom > 0 { try options.set(CURLOPT_RANGE, "CURLOPT_RANGE", "\(resumeFrom)-") }
    try setMethodAndBody(options, context: me)
    try options.set(CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1)
    // S3 answers a wrong region with a redirect whose request would need signing again.
    try options.set(CURLOPT_FOLLOWLOCATION, "CURLOPT_FOLLOWLOCATION", endpoint.dialect == .containers ? 1 : 0)
    try options.set(CURLOPT_MAXREDIRS, "CURLOPT_MAXREDIRS", 5)
    try options.set(CURLOPT_CONNECTTIMEOUT, "CURLOPT_CONNECTTIMEOUT", endpoint.connectTimeout)
    // A stalled transfer (under 1 byte/s for the stall time) is abandoned and retried.
    try options.set(CURLOPT_LOW_SPEED_LIMIT, "CURLOPT_LOW_SPEED_LIMIT", 1)
    try options.set(CURLOPT_LOW_SPEED_TIME, "CURLOPT_LOW_SPEED_TIME", endpoint.stallTimeout)
    try options.set(CURLOPT_SSL_VERIFYPEER, "CURLOPT_SSL_VERIFYPEER", 1)
    try options.set(CURLOPT_SSL_VERIFYHOST, "CURLOPT_SSL_VERIFYHOST", 2)
    try options.set(CURLOPT_HTTP_VERSION, "CURLOPT_HTTP_VERSION", Int(CURL_HTTP_VERSION_2TLS))
    try options.set(CURLOPT_PIPEWAIT, "CURLOPT_PIPEWAIT", 1)
    if endpoint.isLoopback {
      // Loopback traffic never goes through a proxy: the key would travel to it in clear text.
      try options.set(CURLOPT_NOPROXY, "CURLOPT_NOPROXY", "*")
    }
    let trust = endpoint.trust
    if let bundle = trust.bundleForCurl {
      try options.set(CURLOPT_CAINFO, "CURLOPT_CAINFO", bundle)
      try options.set(CURLOPT_PROXY_CAINFO, "CURLOPT_PROXY_CAINFO", bundle)
    }
    if let directory = trust.directory {
      try options.set(CURLOPT_CAPATH, "CURLOPT_CAPATH", directory)
      try options.set(CURLOPT_PROXY_CAPATH, "CURLOPT_PROXY_CAPATH", directory)
    } else if !trust.keepsSystemDirectory {
      // A bundle named by the environment replaces the system's authorities, directory too.
      try options.set(CURLOPT_CAPATH, "CURLOPT_CAPATH", pointer: nil)
      try options.set(CURLOPT_PROXY_CAPATH, "CURLOPT_PROXY_CAPATH", pointer: nil)
    }
    try options.set(CURLOPT_ERRORBUFFER, "CURLOPT_ERRORBUFFER", pointer: UnsafeMutableRawPointer(errorBuffer))
    try options.set(CURLOPT_WRITEDATA, "CURLOPT_WRITEDATA", pointer: me)
    try options.set(CURLOPT_WRITEFUNCTION, "CURLOPT_WRITEFUNCTION") { data, size, count, context in
      let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
      return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
    }
    try options.set(CURLOPT_HEADERDATA, "CURLOPT_HEADERDATA", pointer: me)
    try options.set(CURLOPT_HEADERFUNCTION, "CURLOPT_HEADERFUNCTION") { data, size, count, context in
      let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
      transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
      return size * count
    }
  }

  /// The method, and the body an upload reads from its file as libcurl asks for it.
  private func setMethodAndBody(_ options: CurlEasy, context: UnsafeMutableRawPointer) throws(FetchError) {
    uploaded = 0
    uploadHasher = Insecure.MD5()
    switch request.method {
    case .get: break
    case .head: try options.set(CURLOPT_NOBODY, "CURLOPT_NOBODY", 1)
    case .delete: try options.set(CURLOPT_CUSTOMREQUEST, "CURLOPT_CUSTOMREQUEST", "DELETE")
    case .put: try options.set(CURLOPT_UPLOAD, "CURLOPT_UPLOAD", 1)
    case .post: try options.set(CURLOPT_POST, "CURLOPT_POST", 1)
    }
    switch request.body {
    case .none:
      if request.method == .put { try options.set(CURLOPT_INFILESIZE_LARGE, "CURLOPT_INFILESIZE_LARGE", offset: 0) }
      if request.method == .post {
        try options.set(CURLOPT_POSTFIELDSIZE_LARGE, "CURLOPT_POSTFIELDSIZE_LARGE", offset: 0)
        try options.set(CURLOPT_COPYPOSTFIELDS, "CURLOPT_COPYPOSTFIELDS", "")
      }
    case .bytes(let bytes):
      if request.method == .post {
        // In memory, so that libcurl's signature covers the payload's real hash.
        try options.set(CURLOPT_POSTFIELDSIZE_LARGE, "CURLOPT_POSTFIELDSIZE_LARGE", offset: Int64(bytes.count))
        try options.set(
          CURLOPT_COPYPOSTFIELDS, "CURLOPT_COPYPOSTFIELDS", String(decoding: bytes, as: UTF8.self))
      }
    case .file(let path, _, let length):
      uploadDescriptor = open(path, O_RDONLY | O_CLOEXEC)
      guard uploadDescriptor >= 0 else {
        throw FetchError(.transport, "cannot open \(path): \(String(cString: strerror(errno)))")
      }
      let sizeOption = request.method == .post ? CURLOPT_POSTFIELDSIZE_LARGE : CURLOPT_INFILESIZE_LARGE
      try options.set(sizeOption, "CURLOPT_INFILESIZE_LARGE", offset: length)
      try options.set(CURLOPT_READDATA, "CURLOPT_READDATA", pointer: context)
      try options.set(CURLOPT_READFUNCTION, "CURLOPT_READFUNCTION") { data, size, count, context in
        let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
        return transfer.sendBody(into: UnsafeMutableRawBufferPointer(start: data, count: size * count))
      }
    }
  }

  // MARK: Callbacks (engine thread, inside curl_multi_perform)

  /// Fills libcurl's buffer with the next bytes of the upload.
  private func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard case .file(let path, let offset, let length) = request.body else { return 0 }
    let wanted = Int(min(Int64(buffer.count), length - uploaded))
    guard wanted > 0 else { return 0 }
    while true {
      let count = pread(uploadDescriptor, buffer.baseAddress, wanted, off_t(offset + uploaded))
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        writeFailure =
          count < 0
          ? "cannot read \(path): \(String(cString: strerror(errno)))"
          : "\(path) ended after \(offset + uploaded) bytes while it was being uploaded"
        return Int(CURL_READFUNC_ABORT)
      }
      uploadHasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
      uploaded += Int64(count)
      return count
    }
  }

  /// One header line, as bytes: every answer brings a dozen, so no Foundation string work.
  private func receiveHeader(_ line: UnsafeRawBufferPointer) {
    let bytes = Self.trimmingASCIIWhitespace(line[...])
    if bytes.starts(with: "HTTP/".utf8) {
      // A new response begins (after a redirect or an interim 1xx): forget the previous one.
      headers = [:]
      return
    }
    guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }
    let name = String(decoding: bytes[..<colon].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    headers[name] = String(decoding: Self.trimmingASCIIWhitespace(bytes[(colon + 1)...]), as: UTF8.self)
  }

  private static func trimmingASCIIWhitespace(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
    let isSpace = { (byte: UInt8) in byte == 32 || (9...13).contains(byte) }
    guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
    else { return bytes[bytes.startIndex..<bytes.startIndex] }
    return bytes[first...last]
  }

  private func receiveBody(_ data: UnsafeRawBufferPointer) -> Int {
    if status == 0, let easy {
      status = CurlEasy(handle: easy).info(CURLINFO_RESPONSE_CODE)
      if resumeFrom > 0 && !(status == 206 && contentRangeStart == resumeFrom) {
        // The server sent the whole file (or another range) instead: start over.
        restartBody()
      }
    }
    guard (200..<300).contains(status) else {
      let room = Self.errorBodyLimit - errorBody.count
      if room > 0 { errorBody.append(contentsOf: data.prefix(room)) }
      return data.count
    }
    if prefix.count < Self.prefixLength { prefix.append(contentsOf: data.prefix(Self.prefixLength - prefix.count)) }
    switch target {
    case .memory:
      guard memory.count + data.count <= Self.memoryLimit else {
        writeFailure = "the answer from GET \(url) is larger than \(Self.memoryLimit >> 20) MiB"
        return 0
      }
      memory.append(contentsOf: data)
    case .file(let path):
      var written = 0
      while written < data.count {
        let result = write(descriptor, data.baseAddress! + written, data.count - written)
        if result < 0 {
          if errno == EINTR { continue }
          writeFailure = "cannot write \(path): \(String(cString: strerror(errno)))"
          return 0  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
        }
        written += result
      }
      hasher.update(bufferPointer: data)
    }
    size += Int64(data.count)
    return data.count
  }

  private var contentRangeStart: Int64? {
    // "bytes 1000-1999/2000"
    guard let range = headers["content-range"], range.hasPrefix("bytes "),
      let dash = range.firstIndex(of: "-")
    else { return nil }
    return Int64(range[range.index(range.startIndex, offsetBy: 6)..<dash])
  }

  private var contentRangeTotal: Int64? {
    guard let range = headers["content-range"], let slash = range.lastIndex(of: "/") else { return nil }
    return Int64(range[range.index(after: slash)...])
  }

  private func restartBody() {
    if descriptor >= 0 {
      _ = ftruncate(descriptor, 0)
      _ = lseek(descriptor, 0, SEEK_SET)
    }
    resumeFrom = 0
    hasher = SHA256()
    size = 0
    prefix = []
  }

  // MARK: Deciding what happened

  func verdict(result: CURLcode, endpoint: Endpoint) -> TransferVerdict {
    if descriptor >= 0 {
      close(descriptor)
      descriptor = -1
    }
    if uploadDescriptor >= 0 {
      close(uploadDescriptor)
      uploadDescriptor = -1
    }
    if let easy {
      let code = CurlEasy(handle: easy).info(CURLINFO_RESPONSE_CODE)
      if code != 0 { status = code }
    }
    let requestID = headers["x-request-id"].map { " (request \($0))" } ?? ""
    partialBodyIsGood = false
    if let writeFailure { return .unarchived(UnarchivedReason(.storage, writeFailure)) }
    guard result == CURLE_OK else {
      // A connection that broke mid-body leaves good bytes behind (unless they are an error).
      partialBodyIsGood =
        (status == 200 || status == 206) && Self.errorMessage(inBody: prefix, size: size) == nil
      let detail = String(cString: errorBuffer)
      let reason = "\(Curl.describe(result))\(detail.isEmpty ? "" : ": \(detail)") for \(request.line)"
      if let advice = Curl.runWideAdvice(result, endpoint: endpoint, connectCode: connectCode) {
        return .runWide("\(reason); \(advice)")
      }
      if Curl.mayBeRunWide(result) {
        return .suspect(reason, .curl(result.rawValue))
      }
      return Curl.isTransient(result)
        ? .transient(reason, headers: headers) : .unarchived(UnarchivedReason(.transport, reason))
    }
    if endpoint.dialect == .objectStore { return objectStoreVerdict(endpoint: endpoint) }
    let shouldRetry = headers["x-should-retry"]?.lowercased()
    if (200..<300).contains(status) {
      let expected =
        status == 206 ? contentRangeTotal : headers["content-length"].flatMap(Int64.init)
      if let expected, expected != size {
        partialBodyIsGood = size < expected && Self.errorMessage(inBody: prefix, size: size) == nil
        return .transient("the body ended after \(size) of \(expected) bytes from \(request.line)", headers: headers)
      }
      let body: [UInt8] = target.isFile ? prefix : memory
      if target.isFile, let message = Self.errorMessage(inBody: body, size: size) {
        return .transient(
          "HTTP \(status) with an error body instead of the file: \(message)\(requestID)", headers: headers)
      }
      switch target {
      case .file: return .success(completedResult())
      case .memory: return .success(completedResult())
      }
    }
    let apiMessage = Self.errorMessage(inBody: errorBody, size: Int64(errorBody.count))
    let message =
      apiMessage
      ?? String(decoding: errorBody.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let reason = "HTTP \(status)\(message.isEmpty ? "" : ": \(message)")\(requestID)"
    switch status {
    case 401, 403:
      if let elsewhere = redirectedHost() {
        return .runWide(
          "\(request.line) was redirected to \(elsewhere), another host, which answered \(reason); the key is not sent to another host: point \(endpoint.baseURLVariable) at the API itself"
        )
      }
      return .rejected(
        status: status,
        "the API rejected the credentials (\(reason)) for \(request.line); check \(endpoint.credentialVariables)"
      )
    case 407:
      return .runWide("\(reason): \(Curl.proxyRejected(endpoint))")
    case _ where shouldRetry == "true":
      return .transient(reason, headers: headers)
    case 400, 404:
      // Lost only on the API's own word about this container or file; any other 404 (a wrong
      // base URL, a gateway's page) says nothing about the file and is not final.
      if let kind = apiMessage.flatMap({ Self.gone(status: status, message: $0) }) {
        return .unarchived(UnarchivedReason(kind, reason))
      }
      // Not the API's word about this container or file: a wrong base URL or a gateway's page
      // answers every request so.
      return .suspect("\(reason) for \(request.line)", .http(status))
    case _ where shouldRetry == "false":
      return .unarchived(UnarchivedReason(.rejected, reason))
    case 408, 409, 429, 500...599:
      return .transient(reason, headers: headers)
    default:
      return .unarchived(UnarchivedReason(.rejected, reason))
    }
  }

  /// The answer, as the target holds it.
  func completedResult() -> TransferResult {
    switch target {
    case .file(let path):
      return .file(
        CompletedDownload(
          file: subject ?? ContainerFileRef(containerID: "", fileID: ""), temporaryPath: path,
          digest: Digest(bytes: hasher.finalize()), size: size, prefix: prefix,
          attempts: attempts, status: status, headers: headers))
    case .memory:
      return .memory(
        FetchedResponse(
          status: status, headers: headers, body: memory, serverDate: headers["date"].flatMap(HTTPDate.parse),
          attempts: attempts))
    }
  }

  /// The status of the last attempt's answer, the error body it carried, and what was sent.
  var answer: (status: Int, headers: [String: String], errorBody: [UInt8]) { (status, headers, errorBody) }
  var bytesUploaded: Int64 { uploaded }
  var uploadMD5: String { uploadHasher.finalize().map { String(format: "%02x", $0) }.joined() }

  /// Where a redirect ended, when that is another host than the one asked.
  func redirectedHost() -> String? {
    guard let easy, let effective = CurlEasy(handle: easy).text(CURLINFO_EFFECTIVE_URL),
      let asked = URL(string: url)?.host?.lowercased(), let ended = URL(string: effective)?.host?.lowercased(),
      asked != ended
    else { return nil }
    return effective
  }

  /// The proxy's answer to CONNECT, when a tunnel was asked for.
  private var connectCode: Int {
    guard let easy else { return 0 }
    return CurlEasy(handle: easy).info(CURLINFO_HTTP_CONNECTCODE)
  }

  /// What an API error message says is gone, if it says so: `Container is expired.`,
  /// `No container found with id …`, `File … not found on container …`.
  static func gone(status: Int, message: String) -> UnarchivedReason.Kind? {
    let text = message.lowercased()
    if text.contains("expired") { return .containerExpired }
    guard status == 404 else { return nil }
    if text.contains("no container found")
      || (text.contains("container") && text.contains("not found") && !text.contains("file"))
    {
      return .containerNotFound
    }
    if text.contains("not found") && text.contains("file") { return .fileNotFound }
    if text.contains("not found") && (text.contains("response") || text.contains("conversation")) {
      return .responseNotFound
    }
    return nil
  }

  /// The `error.message` of an OpenAI-style error body (`{"error": {...}}`), if the bytes are one.
  static func errorMessage(inBody body: [UInt8], size: Int64) -> String? {
    guard size < 64 * 1024, let first = body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }),
      first == UInt8(ascii: "{")
    else { return nil }
    guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
      let error = object["error"]
    else { return nil }
    if let error = error as? [String: Any] {
      return (error["message"] as? String) ?? (error["code"] as? String) ?? "an error object"
    }
    return (error as? String) ?? "an error object"
  }

  /// `filename*=UTF-8''…` (RFC 5987) when present, else the plain `filename=`.
  static func filename(fromContentDisposition header: String?) -> String? {
    guard let header else { return nil }
    var plain: String?
    for part in header.split(separator: ";") {
      let pair = part.trimmingCharacters(in: .whitespaces)
      if pair.lowercased().hasPrefix("filename*=") {
        let value = pair.dropFirst("filename*=".count)
        if let quote = value.range(of: "''") {
          return String(value[quote.upperBound...]).removingPercentEncoding
        }
      } else if pair.lowercased().hasPrefix("filename=") {
        plain = pair.dropFirst("filename=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
      }
    }
    return plain
  }

  // MARK: Cleanup

  /// Frees libcurl's resources and closes the file, keeping its bytes.
  func release() {
    if descriptor >= 0 {
      close(descriptor)
      descriptor = -1
    }
    if uploadDescriptor >= 0 {
      close(uploadDescriptor)
      uploadDescriptor = -1
    }
    if let easy {
      ccurl_easy_cleanup(easy)
      self.easy = nil
    }
    if let headerList {
      ccurl_slist_free_all(headerList)
      self.headerList = nil
    }
  }

  /// Gets ready for another attempt: a body cut short after a good start is kept and asked
  /// for again from where it stopped; anything else starts from scratch.
  func releaseForRetry() {
    release()
    if case .file(let path) = target {
      if partialBodyIsGood && size > 0 {
        resumeFrom = size
      } else {
        resumeFrom = 0
        unlink(path)
      }
    }
  }

  /// Frees everything and deletes the partial file.
  func discard() {
    release()
    if case .file(let path) = target { unlink(path) }
  }
}

extension TransferTarget {
  var isFile: Bool {
    if case .file = self { return true }
    return false
  }
}

/// A small answer held in memory (container status, file listings).
public struct FetchedResponse: Sendable {
  public var status: Int
  public var headers: [String: String]
  public var body: [UInt8]
  /// The server's clock, from its `Date` header.
  public var serverDate: Date?
  public var attempts: Int
}

/// RFC 7231 dates (`Wed, 26 Nov 2026 04:23:09 GMT`), as servers send in `Date`.
enum HTTPDate {
  static func parse(_ text: String) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter.date(from: text)
  }
}

// MARK: S3's answers

extension Transfer {
  /// What an S3 answer means. Credentials refused, a bucket that does not exist, a clock S3
  /// will not accept: true of every request, so the run stops. Throttling and server errors:
  /// tried again. Anything else: this request's failure, which the caller turns into its own.
  fileprivate func objectStoreVerdict(endpoint: Endpoint) -> TransferVerdict {
    let error = S3ErrorBody(errorBody)
    let requestID = headers["x-amz-request-id"].map { " (request \($0))" } ?? ""
    let reason = "HTTP \(status)\(error.map { " \($0.code): \($0.message)" } ?? "")\(requestID) for \(request.line)"
    // A 404 can be an answer about the key, never about the bucket (a HEAD cannot tell them
    // apart; a GET's body does).
    if error?.code == "NoSuchBucket" {
      return .runWide("\(reason): the bucket does not exist; create it, or name another in --blobs s3://BUCKET/PREFIX")
    }
    if (200..<300).contains(status) || request.answers.contains(status) {
      if (200..<300).contains(status), case .file(_, _, let length) = request.body {
        guard uploaded == length else {
          return .transient("\(request.line) ended after \(uploaded) of \(length) bytes were sent", headers: headers)
        }
        // S3's ETag of a plain upload is the MD5 of what it stored (a KMS-encrypted object's is
        // not an MD5 at all, and is not compared).
        if let etag = headers["etag"]?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased(),
          etag.count == 32, etag.allSatisfy(\.isHexDigit), etag != uploadMD5
        {
          return .transient(
            "\(request.line): the server stored other bytes than were sent (ETag \(etag), sent MD5 \(uploadMD5))",
            headers: headers)
        }
      }
      if case .file = target, (200..<300).contains(status),
        let expected = headers["content-length"].flatMap(Int64.init), expected != size
      {
        partialBodyIsGood = false
        return .transient("the body ended after \(size) of \(expected) bytes from \(request.line)", headers: headers)
      }
      return .success(completedResult())
    }
    let code = error?.code ?? ""
    let credentials = "check \(endpoint.credentialVariables)"
    switch (status, code) {
    case (_, "SignatureDoesNotMatch"), (_, "InvalidAccessKeyId"), (_, "ExpiredToken"), (_, "InvalidToken"),
      (_, "InvalidClientTokenId"), (401, _):
      return .rejected(status: status, "the object store rejected the credentials (\(reason)); \(credentials)")
    case (403, _):
      return .rejected(
        status: status, "the object store refused access (\(reason)); \(credentials), and the bucket's policy")
    case (_, "RequestTimeTooSkewed"):
      return .runWide("\(reason): this machine's clock is too far from the object store's; set it right (NTP)")
    case (301, _), (307, _), (_, "AuthorizationHeaderMalformed"), (_, "PermanentRedirect"):
      return .runWide(
        "\(reason): the bucket is in another region; set AWS_REGION to it (or AWS_ENDPOINT_URL_S3 to its endpoint)")
    case (407, _):
      return .runWide("\(reason): \(Curl.proxyRejected(endpoint))")
    case (408, _), (409, _), (429, _), (500...599, _), (_, "SlowDown"), (_, "RequestTimeout"), (_, "InternalError"):
      return .transient(reason, headers: headers)
    case (404, _) where error == nil:
      // Not S3's word about an object: something else answers at the endpoint.
      return .suspect(reason, .http(status))
    default:
      return .unarchived(UnarchivedReason(.rejected, reason))
    }
  }
}

/// `<Error><Code>…</Code><Message>…</Message></Error>`, as S3 answers a failure.
struct S3ErrorBody {
  var code: String
  var message: String

  init?(_ body: [UInt8]) {
    let text = String(decoding: body.prefix(16 * 1024), as: UTF8.self)
    guard let code = XMLText.first("Code", in: text) else { return nil }
    self.code = code
    message = XMLText.first("Message", in: text) ?? ""
  }
}

/// Just enough XML for S3's answers: the text of elements, found by name. S3's answers are
/// flat and machine-written; the keys this tool reads are its own hex names.
enum XMLText {
  /// The text of the first `<name>…</name>` in `text`.
  static func first(_ name: String, in text: String) -> String? {
    all(name, in: text).first
  }

  /// The text of every `<name>…</name>` in `text`, in order.
  static func all(_ name: String, in text: String) -> [String] {
    elements(name, in: text).map(unescape)
  }

  /// The raw content of every `<name>…</name>` (for elements holding others, like `Contents`).
  static func elements(_ name: String, in text: String) -> [String] {
    var found: [String] = []
    var rest = text[...]
    let open = "<\(name)>"
    let close = "</\(name)>"
    while let start = rest.range(of: open), let end = rest.range(of: close, range: start.upperBound..<rest.endIndex) {
      found.append(String(rest[start.upperBound..<end.lowerBound]))
      rest = rest[end.upperBound...]
    }
    return found
  }

  static func unescape(_ text: String) -> String {
    guard text.contains("&") else { return text }
    var result = ""
    var rest = text[...]
    while let amp = rest.firstIndex(of: "&") {
      result += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";") else { break }
      let entity = rest[rest.index(after: amp)..<semi]
      switch entity {
      case "amp": result += "&"
      case "lt": result += "<"
      case "gt": result += ">"
      case "quot": result += "\""
      case "apos": result += "'"
      default:
        let number =
          entity.hasPrefix("#x")
          ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
        if let number, let scalar = Unicode.Scalar(number) {
          result.unicodeScalars.append(scalar)
        } else {
          result += "&\(entity);"
        }
      }
      rest = rest[rest.index(after: semi)...]
    }
    return result + rest
  }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
