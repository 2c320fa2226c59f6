// What the transfer engine needs to know of the service it talks to: where it is, how a
// request says who sends it, how the network reaches it, and whose words its errors are in.
// The Containers API and an S3-compatible object store are both endpoints; one engine (one
// libcurl multi handle, one thread) serves each.
import Foundation

struct Endpoint: Sendable {
  /// Whose error answers these are: they are read differently.
  enum Dialect: Sendable {
    /// The Containers API: OpenAI-style JSON errors; a 404 is lost only on the API's word.
    case containers
    /// S3: XML errors with a `Code`.
    case objectStore
  }

  enum Credentials: Sendable {
    /// Header lines sent with every request (`Authorization: Bearer …`, `api-key: …`).
    case headers([String])
    /// AWS Signature Version 4, computed by libcurl (`CURLOPT_AWS_SIGV4`) for each request.
    case sigV4(region: String, accessKey: String, secretKey: String, sessionToken: String?)
  }

  var dialect: Dialect
  /// Without a trailing slash.
  var baseURL: String
  /// The variable the base URL came from, for messages that say what to check.
  var baseURLVariable: String
  /// The variables that hold the credentials (never their values), for messages.
  var credentialVariables: String
  var credentials: Credentials
  var userAgent: String
  var trust: TrustSettings
  var proxy: ProxySettings?
  /// The endpoint is this machine: no proxy is used, and plain http is allowed.
  var isLoopback: Bool
  var connectTimeout: Int
  var stallTimeout: Int
  /// Secrets that must never reach a message, even when a server echoes them.
  var secrets: [String]

  /// Removes every secret from text that came back from a server or a library.
  func redact(_ text: String) -> String {
    var result = text
    for secret in secrets where secret.count >= 4 {
      result = result.replacingOccurrences(of: secret, with: "[redacted]")
    }
    return result
  }
}
