import Foundation

/// An S3-compatible bucket and where in it the archive lives, with credentials read the way
/// the AWS tools read them. The secret is private to this module: nothing outside can print
/// it, and `description` shows only that one is set.
public struct ObjectStoreConfiguration: Sendable, CustomStringConvertible {
  public let bucket: String
  /// Keys start with this (no leading or trailing slash; empty for the bucket's root).
  public let prefix: String
  public let region: String
  /// Where requests go: `https://s3.REGION.amazonaws.com` unless an endpoint is named.
  public let endpointURL: String
  /// Path-style addressing (`ENDPOINT/BUCKET/KEY`), as custom endpoints need; virtual-hosted
  /// (`BUCKET.s3.REGION.amazonaws.com/KEY`) for AWS itself.
  public let pathStyle: Bool
  let accessKey: String
  let secretKey: String
  let sessionToken: String?
  public let userAgent: String
  public let trust: TrustSettings
  public let proxy: ProxySettings?
  public let isLoopback: Bool
  /// The variable the endpoint came from, for messages.
  public let endpointVariable: String
  public var connectTimeout = 20
  public var stallTimeout = 60

  /// `s3://BUCKET/PREFIX` split and checked: a bucket name S3 accepts, a prefix of plain
  /// segments (it becomes part of every key, so nothing that needs escaping or climbs).
  public static func parse(_ text: String) throws(FetchError) -> (bucket: String, prefix: String) {
    guard text.hasPrefix("s3://") else {
      throw FetchError(.invalidConfiguration, "--blobs takes s3://BUCKET/PREFIX, not \(text)")
    }
    let rest = text.dropFirst("s3://".count)
    let parts = rest.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    guard let bucket = parts.first,
      (3...63).contains(bucket.count),
      bucket.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") })
    else {
      throw FetchError(
        .invalidConfiguration,
        "\(text): the bucket name must be 3 to 63 lower-case letters, digits, dots, hyphens or underscores")
    }
    let segments = Array(parts.dropFirst())
    for segment in segments {
      guard segment != ".", segment != "..",
        segment.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
      else {
        throw FetchError(
          .invalidConfiguration,
          "\(text): the prefix may hold only letters, digits, '-', '_' and '.' between slashes (\(segment) does not)")
      }
    }
    return (bucket, segments.joined(separator: "/"))
  }

  /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or
  /// `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`), the CA variables
  /// and the proxy ones.
  public static func fromEnvironment(
    _ environment: [String: String], location: String, userAgent: String, trust trustGiven: TrustSettings? = nil
  ) throws(FetchError) -> ObjectStoreConfiguration {
    func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    let (bucket, prefix) = try parse(location)
    guard let accessKey = value("AWS_ACCESS_KEY_ID"), let secretKey = value("AWS_SECRET_ACCESS_KEY") else {
      throw FetchError(
        .missingKey,
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set for --blobs \(location): export the credentials of an account that may read and write the bucket"
      )
    }
    let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
    guard region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
      throw FetchError(.invalidConfiguration, "AWS_REGION=\(region) is not a region name (us-east-1, eu-west-3)")
    }
    let variable = value("AWS_ENDPOINT_URL_S3") != nil ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL"
    let custom = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")
    let trust: TrustSettings
    if let given = trustGiven {
      trust = given
    } else {
      trust = try TrustSettings.from(environment: environment, extra: nil)
    }
    var endpoint = custom ?? "https://s3.\(region).amazonaws.com"
    while endpoint.hasSuffix("/") { endpoint.removeLast() }
    guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), let host = url.host else {
      throw FetchError(.invalidConfiguration, "\(variable) is not a valid URL: \(endpoint)")
    }
    let loopback = Loopback.isLoopback(host)
    let sessionToken = value("AWS_SESSION_TOKEN")
    switch scheme {
    case "https": break
    case "http" where loopback: break
    // SigV4 never sends the secret, only signatures; a session token, though, travels as it is.
    case "http" where sessionToken == nil: break
    case "http":
      throw FetchError(
        .invalidConfiguration,
        "refusing to send AWS_SESSION_TOKEN over plain http to \(host); use https (plain http is allowed only to loopback addresses)"
      )
    default:
      throw FetchError(.invalidConfiguration, "\(variable) must be an http(s) URL, not \(scheme)://")
    }
    return ObjectStoreConfiguration(
      bucket: bucket, prefix: prefix, region: region, endpointURL: endpoint, pathStyle: custom != nil,
      accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken, userAgent: userAgent, trust: trust,
      proxy: loopback ? nil : ProxySettings.from(environment: environment, for: url), isLoopback: loopback,
      endpointVariable: custom != nil ? variable : "AWS_REGION")
  }

  /// `s3://BUCKET/PREFIX`.
  public var uri: String { "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)" }

  /// The full key of `name` below the prefix.
  public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }

  /// The URL of the bucket itself, without a trailing slash.
  public var bucketURL: String {
    if pathStyle { return "\(endpointURL)/\(bucket)" }
    guard let url = URLComponents(string: endpointURL), let host = url.host else { return "\(endpointURL)/\(bucket)" }
    return "\(url.scheme ?? "https")://\(bucket).\(host)\(url.port.map { ":\($0)" } ?? "")"
  }

  var endpoint: Endpoint {
    Endpoint(
      dialect: .objectStore, baseURL: bucketURL, baseURLVariable: endpointVariable,
      credentialVariables:
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\(sessionToken == nil ? "" : " (and AWS_SESSION_TOKEN)")",
      credentials: .sigV4(region: region, accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken),
      userAgent: userAgent, trust: trust, proxy: proxy, isLoopback: isLoopback, connectTimeout: connectTimeout,
      stallTimeout: stallTimeout, secrets: [secretKey] + (sessionToken.map { [$0] } ?? []))
  }

  public var description: String {
    "\(uri) at \(endpointURL) (region \(region), access key …\(accessKey.suffix(4)), secret set\(sessionToken == nil ? "" : ", session token set"))"
  }
}
