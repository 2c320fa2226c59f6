import Foundation

/// Where the Containers API is and how to authenticate, read the way the official SDKs read it.
/// The key is kept private to this module: nothing outside can print it, and `description`
/// shows only that one is set.
public struct APIConfiguration: Sendable, CustomStringConvertible {
  public static let defaultBaseURL = "https://api.openai.com/v1"

  /// Whose API it is: the paths are the same (`…/v1/containers/…`), the credentials differ.
  public enum Provider: String, Sendable, CaseIterable {
    /// OpenAI, or anything OpenAI-compatible at `OPENAI_BASE_URL` (a LiteLLM proxy, OCI).
    case openai
    /// Azure OpenAI / Foundry at `AZURE_OPENAI_ENDPOINT`.
    case azure
  }

  /// How a request says who sends it.
  public enum Authentication: Sendable, Equatable {
    /// `Authorization: Bearer …`: an OpenAI key, or an Entra ID token on Azure.
    case bearer
    /// `api-key: …`: an Azure OpenAI key.
    case apiKeyHeader
  }

  /// Without a trailing slash.
  public let baseURL: String
  let apiKey: String
  public let provider: Provider
  public let authentication: Authentication
  /// Sent as `api-version` on every request when set (Azure's `OPENAI_API_VERSION`).
  public let apiVersion: String?
  /// The variable the base URL came from, for messages that say what to check.
  public let baseURLVariable: String
  /// The variable the credential came from (never its value).
  public let credentialVariable: String
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
    project: String? = nil, userAgent: String, trust: TrustSettings? = nil, proxy: ProxySettings? = nil,
    provider: Provider = .openai, authentication: Authentication = .bearer, apiVersion: String? = nil,
    baseURLVariable: String = "OPENAI_BASE_URL", credentialVariable: String = "OPENAI_API_KEY"
  ) throws(FetchError) {
    var base = baseURL.trimmingCharacters(in: .whitespaces)
    while base.hasSuffix("/") { base.removeLast() }
    guard !apiKey.isEmpty else {
      throw FetchError(
        .missingKey, "OPENAI_API_KEY is not set: export it, or use the key of the project whose logs these are")
    }
    guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), let host = url.host else {
      throw FetchError(.invalidConfiguration, "\(baseURLVariable) is not a valid URL: \(base)")
    }
    self.provider = provider
    self.authentication = authentication
    self.apiVersion = apiVersion?.isEmpty == true ? nil : apiVersion
    self.baseURLVariable = baseURLVariable
    self.credentialVariable = credentialVariable
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
      throw FetchError(.invalidConfiguration, "\(baseURLVariable) must be an http(s) URL, not \(scheme)://")
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

  /// Reads the provider's variables the way its SDK does — OpenAI: `OPENAI_API_KEY`,
  /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`; Azure: `AZURE_OPENAI_ENDPOINT`
  /// (requests go to `…/openai/v1/…`), `AZURE_OPENAI_API_KEY` (an `api-key:` header) or
  /// `AZURE_OPENAI_AD_TOKEN` (a bearer token), `OPENAI_API_VERSION` — plus the CA variables
  /// (`CURL_CA_BUNDLE`, `SSL_CERT_FILE`, `SSL_CERT_DIR`) and the proxy ones. `provider` nil:
  /// whichever the environment names, and an error when it names both.
  public static func fromEnvironment(
    _ environment: [String: String], userAgent: String, caBundlePath: String? = nil,
    trust checked: TrustSettings? = nil,
    provider chosen: Provider? = nil
  ) throws(FetchError) -> APIConfiguration {
    func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    let provider: Provider
    if let chosen { provider = chosen } else { provider = try Self.provider(in: environment) }
    let trust: TrustSettings
    if let checked {
      trust = checked
    } else {
      trust = try TrustSettings.from(environment: environment, extra: caBundlePath)
    }
    if provider == .azure {
      guard let endpoint = value("AZURE_OPENAI_ENDPOINT") else {
        throw FetchError(
          .invalidConfiguration,
          "AZURE_OPENAI_ENDPOINT is not set: export your resource's endpoint (https://RESOURCE.openai.azure.com)")
      }
      var base = endpoint.trimmingCharacters(in: .whitespaces)
      while base.hasSuffix("/") { base.removeLast() }
      if !base.hasSuffix("/openai/v1") { base += base.hasSuffix("/openai") ? "/v1" : "/openai/v1" }
      let (key, authentication): (String, Authentication)
      if let apiKey = value("AZURE_OPENAI_API_KEY") {
        (key, authentication) = (apiKey, .apiKeyHeader)
      } else if let token = value("AZURE_OPENAI_AD_TOKEN") {
        (key, authentication) = (token, .bearer)
      } else {
        throw FetchError(
          .missingKey,
          "AZURE_OPENAI_API_KEY is not set (nor AZURE_OPENAI_AD_TOKEN, for an Entra ID token): export the key of the resource whose logs these are"
        )
      }
      let proxy = URL(string: base).flatMap { ProxySettings.from(environment: environment, for: $0) }
      return try APIConfiguration(
        baseURL: base, apiKey: key, userAgent: userAgent, trust: trust, proxy: proxy, provider: .azure,
        authentication: authentication, apiVersion: value("OPENAI_API_VERSION"),
        baseURLVariable: "AZURE_OPENAI_ENDPOINT",
        credentialVariable: authentication == .apiKeyHeader ? "AZURE_OPENAI_API_KEY" : "AZURE_OPENAI_AD_TOKEN")
    }
    let base = value("OPENAI_BASE_URL") ?? defaultBaseURL
    let proxy = URL(string: base).flatMap { ProxySettings.from(environment: environment, for: $0) }
    return try APIConfiguration(
      baseURL: base, apiKey: environment["OPENAI_API_KEY"] ?? "", organization: environment["OPENAI_ORG_ID"],
      project: environment["OPENAI_PROJECT_ID"], userAgent: userAgent, trust: trust, proxy: proxy)
  }

  /// The provider the environment names; both named is a question only the user can answer.
  static func provider(in environment: [String: String]) throws(FetchError) -> Provider {
    func isSet(_ name: String) -> Bool { environment[name].map { !$0.isEmpty } ?? false }
    let azure = isSet("AZURE_OPENAI_ENDPOINT")
    guard azure else { return .openai }
    if isSet("OPENAI_API_KEY") || isSet("OPENAI_BASE_URL") {
      throw FetchError(
        .invalidConfiguration,
        "both OpenAI (OPENAI_API_KEY or OPENAI_BASE_URL) and Azure (AZURE_OPENAI_ENDPOINT) are configured: say --provider openai or --provider azure"
      )
    }
    return .azure
  }

  /// The URL of `path` (below the base URL, e.g. `/containers/cntr_…`), with `api-version`.
  public func url(_ path: String) -> String {
    guard let apiVersion else { return baseURL + path }
    let escaped = apiVersion.addingPercentEncoding(
      withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"]))
    return baseURL + path + (path.contains("?") ? "&" : "?") + "api-version=" + (escaped ?? apiVersion)
  }

  /// The variables that hold the credentials, for a message that says what to check.
  public var credentialVariables: String {
    switch (provider, authentication) {
    case (.azure, .apiKeyHeader): "AZURE_OPENAI_API_KEY (the key of the resource AZURE_OPENAI_ENDPOINT names)"
    case (.azure, .bearer): "AZURE_OPENAI_AD_TOKEN (an Entra ID token for https://cognitiveservices.azure.com)"
    case (.openai, _): "OPENAI_API_KEY, OPENAI_ORG_ID and OPENAI_PROJECT_ID"
    }
  }

  /// The header that carries the credential.
  var credentialHeader: String {
    switch authentication {
    case .bearer: "Authorization: Bearer \(apiKey)"
    case .apiKeyHeader: "api-key: \(apiKey)"
    }
  }

  public var description: String {
    "\(baseURL) (key set\(organization.map { ", organization \($0)" } ?? "")\(project.map { ", project \($0)" } ?? ""))"
  }

  /// What the transfer engine needs to reach the API.
  var endpoint: Endpoint {
    var lines = [credentialHeader]
    if let organization { lines.append("OpenAI-Organization: \(organization)") }
    if let project { lines.append("OpenAI-Project: \(project)") }
    return Endpoint(
      dialect: .containers, baseURL: baseURL, baseURLVariable: baseURLVariable,
      credentialVariables: credentialVariables, credentials: .headers(lines), userAgent: userAgent, trust: trust,
      proxy: proxy, isLoopback: isLoopback, connectTimeout: connectTimeout, stallTimeout: stallTimeout,
      secrets: [apiKey])
  }
}
