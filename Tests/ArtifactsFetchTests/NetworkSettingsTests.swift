import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsFetch

struct NetworkSettingsTests {
  @Test(arguments: [
    ("127.0.0.1", true), ("127.9.8.7", true), ("localhost", true), ("LOCALHOST", true), ("::1", true), ("[::1]", true),
    ("127.anything.example", false), ("127.0.0.1.nip.io", false), ("128.0.0.1", false), ("::2", false),
    ("localhost.example", false), ("0:0:0:0:0:0:0:1", true),
  ])
  func loopbackMeansAnAddressNotAName(host: String, expected: Bool) {
    #expect(Loopback.isLoopback(host) == expected, "\(host)")
  }

  @Test func plainHTTPToANameThatLooksLikeLoopbackIsRefused() {
    #expect(throws: FetchError.self) {
      try APIConfiguration(baseURL: "http://127.attacker.example:8080/v1", apiKey: "sk-x", userAgent: "t")
    }
    #expect(throws: Never.self) {
      try APIConfiguration(baseURL: "http://127.0.0.1:8080/v1", apiKey: "sk-x", userAgent: "t")
    }
  }

  @Test func theProxyIsTheOneLibcurlWouldUseWithoutItsPassword() throws {
    let target = try #require(URL(string: "https://api.openai.com/v1"))
    let proxy = ProxySettings.from(environment: ["HTTPS_PROXY": "http://bob:secret@proxy.corp:3128"], for: target)
    #expect(proxy == ProxySettings(url: "http://proxy.corp:3128", variable: "HTTPS_PROXY"))
    #expect(ProxySettings.from(environment: ["http_proxy": "http://p:1"], for: target) == nil)  // http only
    #expect(
      ProxySettings.from(
        environment: ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.org,.openai.com"], for: target)
        == nil)
    // A loopback base URL never goes through one, whatever the environment says.
    let configuration = try APIConfiguration.fromEnvironment(
      ["OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "http_proxy": "http://p:1"],
      userAgent: "t")
    #expect(configuration.isLoopback && configuration.proxy == nil)
  }

  @Test func cacertIsAddedToTheAuthoritiesTrustedAnyway() throws {
    let directory = TemporaryDirectory()
    let extra = directory.write("extra.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    let base = directory.write("base.pem", "-----BEGIN CERTIFICATE-----\nBASE\n-----END CERTIFICATE-----\n")
    let trust = try TrustSettings.from(environment: ["SSL_CERT_FILE": base], extra: extra)
    let merged = try String(contentsOfFile: try #require(trust.bundleForCurl), encoding: .utf8)
    #expect(merged.contains("BASE") && merged.contains("MIIB"))
    #expect(trust.description.contains(extra) && trust.description.contains(base))
    // The environment's bundle alone replaces the system's, as the SDKs read it.
    let replaced = try TrustSettings.from(environment: ["CURL_CA_BUNDLE": base], extra: nil)
    #expect(replaced.bundleForCurl == base && !replaced.keepsSystemDirectory)
    #expect(throws: FetchError.self) { try TrustSettings.from(environment: [:], extra: directory.write("x", "no")) }
    #expect(throws: FetchError.self) { try TrustSettings.from(environment: ["SSL_CERT_DIR": extra], extra: nil) }
  }
}
