import CCurl

/// Why the fetch layer cannot run at all (per-file problems are outcomes, not errors).
public struct FetchError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    case missingKey
    case invalidConfiguration
    /// The API refused the credentials (401/403): every further request would fail too.
    case credentialsRejected(status: Int)
    /// libcurl itself could not be loaded or set up.
    case transport
    /// A failure true of every request (certificate, proxy, base URL): the run was stopped.
    case runWide
    /// One request failed for good (after its retries): the object store is down, or refused it.
    case request
    /// A libcurl call failed: which one, and its result code.
    case curl(call: String, code: Int)
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }
}

/// The one choke point for libcurl calls: every result is checked here, and a failure names
/// the call (and option) and libcurl's own code and words for it.
enum Curl {
  static func check(_ result: CURLcode, _ call: @autoclosure () -> String) throws(FetchError) {
    guard result != CURLE_OK else { return }
    let name = call()
    throw FetchError(
      .curl(call: name, code: Int(result.rawValue)),
      "libcurl: \(name) failed: \(describe(result)) (CURLcode \(result.rawValue))")
  }

  static func check(_ result: CURLMcode, _ call: @autoclosure () -> String) throws(FetchError) {
    guard result != CURLM_OK else { return }
    let name = call()
    throw FetchError(
      .curl(call: name, code: Int(result.rawValue)),
      "libcurl: \(name) failed: \(String(cString: ccurl_multi_strerror(result))) (CURLMcode \(result.rawValue))")
  }

  /// Failures that cannot be one file's fault, with what to do about them.
  static func runWideAdvice(_ code: CURLcode, endpoint: Endpoint, connectCode: Int) -> String? {
    let proxy = endpoint.proxy?.description ?? "the proxy"
    switch code {
    case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SSL_ISSUER_ERROR:
      return
        "the certificate was not trusted with \(endpoint.trust); add the CA that signed it with --cacert FILE (or SSL_CERT_FILE), and check that the host name matches the certificate"
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "\(proxy) cannot be found; fix the proxy variable, or exclude the API host with NO_PROXY"
    case _ where connectCode == 407 && [CURLE_PROXY, CURLE_RECV_ERROR, CURLE_COULDNT_CONNECT].contains(code):
      return "407: " + proxyRejected(endpoint)
    case CURLE_PROXY:
      return "\(proxy) refused the connection; check it, or exclude the API host with NO_PROXY"
    case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
      return "check \(endpoint.baseURLVariable)"
    default:
      return nil
    }
  }

  /// What to say when the proxy refuses its credentials, however libcurl reports it.
  static func proxyRejected(_ endpoint: Endpoint) -> String {
    "\(endpoint.proxy?.description ?? "the proxy") rejected its credentials; put the right user and password in the proxy URL, or exclude the API host with NO_PROXY"
  }

  /// Failures that are true of every request when the first requests all end in them (the
  /// API or the proxy is down, https:// to a plain-http port), though one of them alone could
  /// be a bad moment.
  static func mayBeRunWide(_ code: CURLcode) -> Bool {
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR, CURLE_OPERATION_TIMEDOUT:
      return true
    default:
      return false
    }
  }

  static func describe(_ code: CURLcode) -> String {
    String(cString: ccurl_easy_strerror(code))
  }

  /// Results worth another attempt: the network or the server had a bad moment.
  static func isTransient(_ code: CURLcode) -> Bool {
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
      CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
      CURLE_SSL_CONNECT_ERROR:
      return true
    default:
      return false
    }
  }
}

/// An easy handle's options, each set through the choke point with its name.
struct CurlEasy {
  let handle: UnsafeMutableRawPointer

  func set(_ option: CURLoption, _ name: String, _ value: Int) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_long(handle, option, value), "curl_easy_setopt(\(name))")
  }

  func set(_ option: CURLoption, _ name: String, _ value: String) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_string(handle, option, value), "curl_easy_setopt(\(name))")
  }

  func set(_ option: CURLoption, _ name: String, offset: Int64) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_off(handle, option, curl_off_t(offset)), "curl_easy_setopt(\(name))")
  }

  func set(_ option: CURLoption, _ name: String, pointer: UnsafeMutableRawPointer?) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_pointer(handle, option, pointer), "curl_easy_setopt(\(name))")
  }

  func set(_ option: CURLoption, _ name: String, list: UnsafeMutablePointer<curl_slist>?) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_slist(handle, option, list), "curl_easy_setopt(\(name))")
  }

  func set(_ option: CURLoption, _ name: String, callback: ccurl_write_callback) throws(FetchError) {
    try Curl.check(ccurl_easy_setopt_write_callback(handle, option, callback), "curl_easy_setopt(\(name))")
  }

  /// A `long` the transfer knows (response code); 0 when libcurl cannot say.
  func info(_ info: CURLINFO) -> Int {
    var value = 0
    return ccurl_easy_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
  }

  /// A string the transfer knows (the effective URL); nil when libcurl cannot say.
  func text(_ info: CURLINFO) -> String? {
    var value: UnsafeMutableRawPointer?
    guard ccurl_easy_getinfo_pointer(handle, info, &value) == CURLE_OK, let value else { return nil }
    return String(cString: value.assumingMemoryBound(to: CChar.self))
  }
}
