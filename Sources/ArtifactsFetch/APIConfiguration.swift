import Foundation

/// Where the Containers API is and how to authenticate, read the way the official SDKs read it.
/// The key is kept private to this module: nothing outside can print it, and `description`
/// shows only that one is set.
public struct APIConfiguration: Sendable, CustomStringConvertible {
  public static let defaultBaseURL = "https://api.openai.com/v1"

  /// Without a trailing slash.
  public let baseURL: String
  let apiKey: String
  public let organization: String?
  public let project: String?
  public let userAgent: String
  /// Which certificate authorities are trusted (environment and `--cacert`).
  public let trust: TrustSettings
  /// The proxy requests go through, if any (never for a loopback base URL).
  public let proxy: ProxySettings?
  /// The base URL names this machine: no proxy is used, and plain http is allowed.
  public let isLoopback: Bool
  /// Seconds to wait for a connection.
  public var connectTimeout = 20
  /// Seconds without a byte before a transfer is abandoned (and retried).
  public var stallTimeout = 60

  public init(
    baseURL: String = APIConfiguration.defaultBaseURL, apiKey: String, organization: String? = nil,
    project: String? = nil, userAgent: String, trust: TrustSettings? = nil, proxy: ProxySettings? = nil
  ) throws(FetchError) {
    var base = baseURL.trimmingCharacters(in: .whitespaces)
    while base.hasSuffix("/") { base.removeLast() }
    guard !apiKey.isEmpty else {
      throw FetchError(
        .missingKey, "OPENAI_API_KEY is not set: export it, or use the key of the project whose logs these are")
    }
    guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host else {
      throw FetchError(.invalidConfiguration, "OPENAI_BASE_URL is not a valid URL: \(base)")
    }
    let loopback = Loopback.isLoopback(host)
    switch scheme {
    case "https":
      break
    case "http" where loopback:
      break
    case "http":
      throw FetchError(
        .invalidConfiguration,
        "refusing to send the API key over plain http to \(host); use https (plain http is allowed only to loopback addresses)"
      )
    default:
      throw FetchError(.invalidConfiguration, "OPENAI_BASE_URL must be an http(s) URL, not \(scheme)://")
    }
    self.baseURL = base
    self.apiKey = apiKey
    self.organization = organization?.isEmpty == true ? nil : organization
    self.project = project?.isEmpty == true ? nil : project
    self.userAgent = userAgent
    if let trust {
      self.trust = trust
    } else {
      self.trust = try TrustSettings.from(environment: [:], extra: nil)
    }
    self.proxy = loopback ? nil : proxy
    isLoopback = loopback
  }

  /// Reads `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`, the
  /// CA variables (`CURL_CA_BUNDLE`, `SSL_CERT_FILE`, `SSL_CERT_DIR`) and the proxy ones.
  public static func fromEnvironment(
    _ environment: [String: String], userAgent: String, caBundlePath: String? = nil, trust checked: TrustSettings? = nil
  ) throws(FetchError) -> APIConfiguration {
    let base = environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
    let trust: TrustSettings
    if let checked {
      trust = checked
    } else {
      trust = try TrustSettings.from(environment: environment, extra: caBundlePath)
    }
    let proxy = URL(string: base).flatMap { ProxySettings.from(environment: environment, for: $0) }
    return try APIConfiguration(
      baseURL: base, apiKey: environment["OPENAI_API_KEY"] ?? "", organization: environment["OPENAI_ORG_ID"],
      project: environment["OPENAI_PROJECT_ID"], userAgent: userAgent, trust: trust, proxy: proxy)
  }

  public var description: String {
    "\(baseURL) (key set\(organization.map { ", organization \($0)" } ?? "")\(project.map { ", project \($0)" } ?? ""))"
  }

  /// Removes the key from any text that came back from a server or a library, in case it
  /// echoes the credentials it was sent.
  func redact(_ text: String) -> String {
    guard apiKey.count >= 4 else { return text }
    return text.replacingOccurrences(of: apiKey, with: "[redacted key]")
  }
}
