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
  /// A PEM bundle of extra certificate authorities (`--cacert`).
  public let caBundlePath: String?
  /// Seconds to wait for a connection.
  public var connectTimeout = 20
  /// Seconds without a byte before a transfer is abandoned (and retried).
  public var stallTimeout = 60

  public init(
    baseURL: String = APIConfiguration.defaultBaseURL, apiKey: String, organization: String? = nil,
    project: String? = nil, userAgent: String, caBundlePath: String? = nil
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
    switch scheme {
    case "https":
      break
    case "http" where Self.isLoopback(host):
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
    self.caBundlePath = caBundlePath
  }

  /// Reads `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`.
  public static func fromEnvironment(
    _ environment: [String: String], userAgent: String, caBundlePath: String? = nil
  ) throws(FetchError) -> APIConfiguration {
    let base = environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL
    return try APIConfiguration(
      baseURL: base, apiKey: environment["OPENAI_API_KEY"] ?? "", organization: environment["OPENAI_ORG_ID"],
      project: environment["OPENAI_PROJECT_ID"], userAgent: userAgent, caBundlePath: caBundlePath)
  }

  static func isLoopback(_ host: String) -> Bool {
    let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
    return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
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
