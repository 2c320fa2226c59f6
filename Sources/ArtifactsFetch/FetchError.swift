import CCurl

/// Why the fetch layer cannot run at all (per-file problems are outcomes, not errors).
public struct FetchError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    case missingKey
    case invalidConfiguration
    /// The API refused the credentials (401/403): every further request would fail too.
    case credentialsRejected(status: Int)
    /// libcurl itself could not be set up.
    case transport
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }
}

/// The one place a libcurl result code becomes text, naming the call that failed.
enum CurlResult {
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
