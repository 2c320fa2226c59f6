// The network as users have it: which certificate authorities are trusted, which proxy a
// request goes through, and what counts as loopback (the only place the key may travel in
// clear text). Read once, when a run starts, and checked then: a missing or non-PEM bundle is
// a message before the first request, not a failure on every one.
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Which certificate authorities TLS trusts, for the API and for an HTTPS proxy alike.
public struct TrustSettings: Sendable, Equatable, CustomStringConvertible {
  /// A bundle that replaces the system's (`CURL_CA_BUNDLE`, else `SSL_CERT_FILE`), as the
  /// official SDKs' HTTP stacks read them.
  public var bundle: String?
  /// A hashed certificate directory (`SSL_CERT_DIR`).
  public var directory: String?
  /// `--cacert`: authorities added to the others (a private CA beside the public ones).
  public var extra: String?
  /// Where the bundle handed to libcurl is, when `extra` had to be merged into one.
  let mergedBundle: String?

  /// The system's own bundle, where Debian, Fedora and Alpine keep it.
  static let systemBundles = [
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
  ]

  public static func from(environment: [String: String], extra: String?) throws(FetchError) -> TrustSettings {
    func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    let bundle = value("CURL_CA_BUNDLE") ?? value("SSL_CERT_FILE")
    let directory = value("SSL_CERT_DIR")
    let bundleContents = try bundle.map { bundle throws(FetchError) in
      try Self.readBundle(bundle, named: value("CURL_CA_BUNDLE") != nil ? "CURL_CA_BUNDLE" : "SSL_CERT_FILE")
    }
    if let directory {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw FetchError(.invalidConfiguration, "SSL_CERT_DIR=\(directory) is not a directory")
      }
    }
    guard let extra else {
      return TrustSettings(bundle: bundle, directory: directory, extra: nil, mergedBundle: nil)
    }
    let extraContents = try Self.readBundle(extra, named: "--cacert")
    // libcurl takes one bundle file: the extra authorities are added to the ones trusted
    // anyway (the environment's bundle, else the system's), in a private file of this run.
    let base =
      bundleContents
      ?? (directory == nil
        ? systemBundles.lazy.compactMap { FileManager.default.contents(atPath: $0) }.first : nil)
    var merged = Data()
    if let base { merged.append(base + Data("\n".utf8)) }
    merged.append(extraContents)
    let path = NSTemporaryDirectory() + "artifacts-ca-\(getpid())-\(UUID().uuidString.lowercased()).pem"
    guard FileManager.default.createFile(atPath: path, contents: merged, attributes: [.posixPermissions: 0o600]) else {
      throw FetchError(.invalidConfiguration, "cannot write the merged CA bundle \(path)")
    }
    TrustSettings.mergedPaths.withLock { paths in
      if paths.isEmpty { atexit { TrustSettings.removeMerged() } }  // once per process
      paths.append(path)
    }
    return TrustSettings(bundle: bundle, directory: directory, extra: extra, mergedBundle: path)
  }

  /// The bundle file libcurl reads, if the system's is not used as it is.
  var bundleForCurl: String? { mergedBundle ?? bundle }
  /// Whether the system's certificate directory stays in use beside the bundle.
  var keepsSystemDirectory: Bool { bundle == nil && directory == nil }

  public var description: String {
    var parts: [String] = []
    if let bundle { parts.append("the bundle \(bundle)") }
    if let directory { parts.append("the directory \(directory)") }
    if parts.isEmpty { parts.append("the system's certificate authorities") }
    if let extra { parts.append("and those in \(extra) (--cacert)") }
    return parts.joined(separator: " ")
  }

  /// The bundle's bytes, once it is known to be a PEM bundle.
  static func readBundle(_ path: String, named name: String) throws(FetchError) -> Data {
    guard let contents = FileManager.default.contents(atPath: path) else {
      throw FetchError(.invalidConfiguration, "\(name) \(path): \(String(cString: strerror(errno)))")
    }
    guard contents.range(of: Data("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
      throw FetchError(.invalidConfiguration, "\(name) \(path) is not a PEM certificate bundle (no BEGIN CERTIFICATE)")
    }
    return contents
  }

  private static let mergedPaths = Mutex<[String]>([])

  private static func removeMerged() {
    for path in mergedPaths.withLock({ $0 }) { unlink(path) }
  }
}

/// The proxy libcurl will use for a URL, as the environment says (libcurl reads the same
/// variables itself; this is for saying which one, in messages).
public struct ProxySettings: Sendable, Equatable, CustomStringConvertible {
  /// With any user and password removed.
  public var url: String
  /// The variable it came from.
  public var variable: String

  public var description: String { "the proxy \(url) (from \(variable))" }

  public static func from(environment: [String: String], for target: URL) -> ProxySettings? {
    let scheme = target.scheme?.lowercased() ?? "https"
    // libcurl reads http_proxy in lower case only (a CGI program could be handed HTTP_PROXY).
    let names =
      scheme == "https"
      ? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] : ["http_proxy", "all_proxy", "ALL_PROXY"]
    guard let name = names.first(where: { environment[$0].map { !$0.isEmpty } ?? false }), let value = environment[name]
    else { return nil }
    if let host = target.host, Self.excluded(host, by: environment["no_proxy"] ?? environment["NO_PROXY"]) {
      return nil
    }
    return ProxySettings(url: Self.withoutCredentials(value), variable: name)
  }

  static func excluded(_ host: String, by list: String?) -> Bool {
    guard let list else { return false }
    let lowered = host.lowercased()
    for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
      if entry == "*" { return true }
      let bare = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
      if lowered == bare || lowered.hasSuffix("." + bare) { return true }
    }
    return false
  }

  static func withoutCredentials(_ text: String) -> String {
    guard let at = text.lastIndex(of: "@") else { return text }
    let start = text.range(of: "://").map(\.upperBound) ?? text.startIndex
    guard start < at else { return text }
    return String(text[..<start]) + String(text[text.index(after: at)...])
  }
}

/// Loopback means an IP literal in 127.0.0.0/8, `::1`, or the name `localhost` — never a name
/// that merely starts with "127.".
public enum Loopback {
  public static func isLoopback(_ host: String) -> Bool {
    let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
    if bare == "localhost" || bare == "localhost." { return true }
    var v4 = in_addr()
    if inet_pton(AF_INET, bare, &v4) == 1 {
      return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, bare, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
    }
    return false
  }
}
