// One file's transfer state while libcurl moves its bytes. Lives on the engine thread only.
import ArtifactsCore
import CCurl
import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

enum TransferVerdict {
  case success(CompletedDownload)
  case lost(String)
  case permanent(String)
  case transient(String, headers: [String: String])
  case rejected(status: Int, String)
}

final class Transfer {
  static let prefixLength = 512
  static let errorBodyLimit = 64 * 1024

  let file: ContainerFileRef
  let url: String
  let temporaryPath: String
  private var continuation: CheckedContinuation<DownloadOutcome, Never>?
  var attempts = 0
  var notBefore: UInt64 = 0

  private(set) var easy: UnsafeMutableRawPointer?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  /// libcurl writes its detailed error text here; it must stay at one address for the handle's life.
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  private var descriptor: Int32 = -1
  private var hasher = SHA256()
  private var size: Int64 = 0
  private var status = 0
  private var headers: [String: String] = [:]
  private var prefix: [UInt8] = []
  private var errorBody: [UInt8] = []
  private var writeFailure: String?

  init(
    file: ContainerFileRef, url: String, temporaryPath: String,
    continuation: CheckedContinuation<DownloadOutcome, Never>
  ) {
    self.file = file
    self.url = url
    self.temporaryPath = temporaryPath
    self.continuation = continuation
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
  }

  deinit {
    release()
    errorBuffer.deallocate()
  }

  func complete(_ outcome: DownloadOutcome) {
    continuation?.resume(returning: outcome)
    continuation = nil
  }

  /// Sets up a fresh easy handle and an empty temp file for the next attempt.
  func prepare(configuration: APIConfiguration) throws(FetchError) {
    reset()
    descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw FetchError(.transport, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
    }
    guard let easy = curl_easy_init() else { throw FetchError(.transport, "libcurl could not create a transfer") }
    self.easy = easy
    let me = Unmanaged.passUnretained(self).toOpaque()
    var headerLines = [
      "Authorization: Bearer \(configuration.apiKey)",
      "Accept: application/binary",
    ]
    if let organization = configuration.organization { headerLines.append("OpenAI-Organization: \(organization)") }
    if let project = configuration.project { headerLines.append("OpenAI-Project: \(project)") }
    for line in headerLines { headerList = curl_slist_append(headerList, line) }

    _ = ccurl_easy_setopt_string(easy, CURLOPT_URL, url)
    _ = ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)
    _ = ccurl_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_MAXREDIRS, 5)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT, 20)
    // A stalled transfer (under 1 byte/s for 60 s) is abandoned and retried.
    _ = ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, 60)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
    _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
    _ = ccurl_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
    if let bundle = configuration.caBundlePath { _ = ccurl_easy_setopt_string(easy, CURLOPT_CAINFO, bundle) }
    _ = ccurl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
    _ = ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
    _ = ccurl_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
      let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
      return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
    }
    _ = ccurl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
    _ = ccurl_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
      let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
      transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
      return size * count
    }
  }

  private func reset() {
    release()
    hasher = SHA256()
    size = 0
    status = 0
    headers = [:]
    prefix = []
    errorBody = []
    writeFailure = nil
    errorBuffer[0] = 0
  }

  // MARK: Callbacks (engine thread, inside curl_multi_perform)

  private func receiveHeader(_ line: UnsafeRawBufferPointer) {
    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("HTTP/") {
      // A new response begins (after a redirect or an interim 1xx): forget the previous one.
      headers = [:]
      return
    }
    guard let colon = text.firstIndex(of: ":") else { return }
    let name = text[..<colon].lowercased()
    headers[name] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }

  private func receiveBody(_ data: UnsafeRawBufferPointer) -> Int {
    if status == 0, let easy {
      var code = 0
      _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
      status = code
    }
    guard (200..<300).contains(status) else {
      let room = Self.errorBodyLimit - errorBody.count
      if room > 0 { errorBody.append(contentsOf: data.prefix(room)) }
      return data.count
    }
    if prefix.count < Self.prefixLength { prefix.append(contentsOf: data.prefix(Self.prefixLength - prefix.count)) }
    var written = 0
    while written < data.count {
      let result = write(descriptor, data.baseAddress! + written, data.count - written)
      if result < 0 {
        if errno == EINTR { continue }
        writeFailure = "cannot write \(temporaryPath): \(String(cString: strerror(errno)))"
        return 0  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
      }
      written += result
    }
    hasher.update(bufferPointer: data)
    size += Int64(data.count)
    return data.count
  }

  // MARK: Deciding what happened

  func verdict(result: CURLcode, configuration: APIConfiguration) -> TransferVerdict {
    if descriptor >= 0 {
      close(descriptor)
      descriptor = -1
    }
    if let easy {
      var code = 0
      _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
      if code != 0 { status = code }
    }
    let requestID = headers["x-request-id"].map { " (request \($0))" } ?? ""
    if let writeFailure { return .permanent(writeFailure) }
    guard result == CURLE_OK else {
      let detail = String(cString: errorBuffer)
      let reason = "\(CurlResult.describe(result))\(detail.isEmpty ? "" : ": \(detail)") for GET \(url)"
      return CurlResult.isTransient(result) ? .transient(reason, headers: headers) : .permanent(reason)
    }
    let shouldRetry = headers["x-should-retry"]?.lowercased()
    if (200..<300).contains(status) {
      if let expected = headers["content-length"].flatMap(Int64.init), expected != size {
        return .transient("the body ended after \(size) of \(expected) bytes from GET \(url)", headers: headers)
      }
      if let message = Self.errorMessage(inBody: prefix, size: size) {
        return .transient(
          "HTTP \(status) with an error body instead of the file: \(message)\(requestID)", headers: headers)
      }
      return .success(
        CompletedDownload(
          file: file, temporaryPath: temporaryPath, digest: Digest(bytes: hasher.finalize()), size: size,
          prefix: prefix, serverFilename: Self.filename(fromContentDisposition: headers["content-disposition"]),
          attempts: attempts))
    }
    let message =
      Self.errorMessage(inBody: errorBody, size: Int64(errorBody.count))
      ?? String(decoding: errorBody.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let reason = "HTTP \(status)\(message.isEmpty ? "" : ": \(message)")\(requestID)"
    switch status {
    case 401, 403:
      return .rejected(
        status: status,
        "the API rejected the credentials (\(reason)) for GET \(url); check OPENAI_API_KEY, OPENAI_ORG_ID and OPENAI_PROJECT_ID"
      )
    case _ where shouldRetry == "true":
      return .transient(reason, headers: headers)
    case 404:
      return .lost(reason)
    case 400 where message.lowercased().contains("expire"):
      return .lost(reason)
    case _ where shouldRetry == "false":
      return .permanent(reason)
    case 408, 409, 429, 500...599:
      return .transient(reason, headers: headers)
    default:
      return .permanent(reason)
    }
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
    if let easy {
      curl_easy_cleanup(easy)
      self.easy = nil
    }
    if let headerList {
      curl_slist_free_all(headerList)
      self.headerList = nil
    }
  }

  /// Frees everything and deletes the partial file.
  func discard() {
    release()
    unlink(temporaryPath)
  }
}
