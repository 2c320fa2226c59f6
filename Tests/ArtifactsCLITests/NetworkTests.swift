// The network as users have it, on real servers: nginx terminating TLS (HTTP/2, and HTTP/1.1
// only) in front of the emulator, squid as a forward proxy with and without credentials, a
// private certificate authority made with openssl — and the failures that are no one file's
// fault, each of which must stop the run at once with one message and change no file's state.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(5)))
struct NetworkTests {
  let key = "sk-network-secret-7d1e90"
  let binary = TestPaths.binary("artifacts")

  /// The emulator with `count` files in two containers, and a log citing them all.
  struct World {
    let emulator: ContainersEmulator
    let directory = TemporaryDirectory("network")
    var logs: String { directory.file("logs") }
    var store: String { directory.file("store") }
    let count: Int
  }

  func makeWorld(files count: Int = 12) throws -> World {
    let emulator = try ContainersEmulator.started(apiKey: key)
    let world = World(emulator: emulator, count: count)
    var lines: [String] = []
    for containerNumber in 0..<2 {
      let files = (0..<(count / 2)).map {
        EmulatedFile(
          id: FakeID.file(containerNumber * 100 + $0), path: "/mnt/data/n\($0).csv",
          bytes: Array("network \(containerNumber) \($0)\n".utf8))
      }
      let container = emulator.addContainer(id: FakeID.container(900 + containerNumber), files: files)
      lines.append(
        responseLine(
          id: FakeID.response(90 + containerNumber), container: container, files: files.map { ($0.id, "\($0.id).csv") })
      )
    }
    _ = world.directory.write("logs/run.jsonl", lines.joined(separator: "\n") + "\n")
    return world
  }

  /// The whole environment of a run: nothing of the machine's own proxy or CA settings leaks
  /// in (an empty `https_proxy` would hide `HTTPS_PROXY` from libcurl, so none is set at all).
  func environment(base: String, _ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
      "OPENAI_API_KEY": key, "OPENAI_BASE_URL": base,
      "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
      "HOME": NSTemporaryDirectory(),
    ]
    for (name, value) in extra { environment[name] = value }
    return environment
  }

  /// Runs the binary with exactly `environment`.
  func isolated(_ executable: URL, _ arguments: [String], environment: [String: String]) throws -> ProcessResult {
    try run(executable, arguments, environment: environment, inherit: false)
  }

  /// A private CA, a certificate it signed for `names`, and nginx with that certificate in front
  /// of the world's emulator.
  func tlsFront(
    _ world: World, _ label: String = "localhost", names: [String] = ["localhost", "127.0.0.1"], http2: Bool = true
  ) throws -> (ca: TestCA, server: (certificate: String, key: String), nginx: TestNginx) {
    let ca = try TestCA(in: world.directory.file("ca"))
    let server = try ca.issue(label, names: names)
    let nginx = try TestNginx(
      in: world.directory.file("nginx"), certificate: server.certificate, key: server.key, http2: http2,
      mode: .proxy(backendPort: world.emulator.port))
    return (ca, server, nginx)
  }

  func summary(_ result: ProcessResult) -> [String: Any] {
    guard let last = result.stdoutLines.last,
      let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    else { return [:] }
    return object
  }

  /// Every cited file's state in the catalog.
  func states(_ world: World) throws -> [String] {
    try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"), [world.store + "/catalog.sqlite", "SELECT state FROM container_file"]
    ).stdoutLines
  }

  func contentRequests(_ emulator: ContainersEmulator) -> [String] {
    emulator.requestLog.filter { $0.path.hasSuffix("/content") && $0.status == 200 }.map(\.path)
  }

  // MARK: The good paths

  @Test func tlsAndHTTP2UnderFaultsArchiveEverythingOnceOnOneConnection() throws {
    let world = try makeWorld(files: 40)
    defer { world.emulator.stop() }
    let (ca, server, nginx) = try tlsFront(world)
    defer { nginx.stop() }
    let result = try isolated(
      binary, ["sync", "--json", "--jobs", "16", "--cacert", ca.certificate, "--store", world.store, world.logs],
      environment: environment(base: "https://localhost:\(nginx.port)/v1"))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(summary(result)["archived"] as? Int == 40)
    let downloads = contentRequests(world.emulator)
    #expect(downloads.count == 40 && Set(downloads).count == 40, "a file was downloaded twice")
    let requests = nginx.requests()
    #expect(!requests.isEmpty && requests.allSatisfy { $0.count > 1 && $0[1] == "HTTP/2.0" }, "\(requests.prefix(3))")
    #expect(Set(requests.map { $0[0] }).count == 1, "\(Set(requests.map { $0[0] }).count) TCP connections")
    #expect(!result.stdout.contains(key) && !result.stderr.contains(key))

    // Faults behind the TLS front (resets, 5xx, truncated bodies) are survived the same way.
    let faulty = try makeWorld(files: 30)
    defer { faulty.emulator.stop() }
    faulty.emulator.setFaultPlan(FaultPlan(rate: 0.25, seed: 12))
    let behind = try TestNginx(
      in: faulty.directory.file("nginx"), certificate: server.certificate, key: server.key,
      mode: .proxy(backendPort: faulty.emulator.port))
    defer { behind.stop() }
    let survived = try isolated(
      binary, ["sync", "--json", "--cacert", ca.certificate, "--store", faulty.store, faulty.logs],
      environment: environment(base: "https://localhost:\(behind.port)/v1"))
    #expect(survived.status == 0, "\(survived.stderr)")
    #expect(summary(survived)["archived"] as? Int == 30)
  }

  @Test func http11OnlyAndTheCertificateAuthoritiesOfTheEnvironment() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let (ca, _, nginx) = try tlsFront(world, http2: false)
    defer { nginx.stop() }
    // SSL_CERT_FILE, as the official SDKs' HTTP stacks read it, with no --cacert.
    let result = try isolated(
      binary, ["sync", "--json", "--store", world.store, world.logs],
      environment: environment(base: "https://localhost:\(nginx.port)/v1", ["SSL_CERT_FILE": ca.certificate]))
    #expect(result.status == 0, "\(result.stderr)")
    #expect(summary(result)["archived"] as? Int == world.count)
    #expect(nginx.requests().allSatisfy { $0.count > 1 && $0[1] == "HTTP/1.1" })
  }

  @Test func throughSquidTheKeyNeverReachesTheProxyAndLoopbackNeverGoesThroughIt() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let (ca, _, nginx) = try tlsFront(world, "api", names: [TestSquid.apiHost, "localhost", "127.0.0.1"])
    defer { nginx.stop() }
    let squid = try TestSquid(in: world.directory.file("squid"))
    defer { squid.stop() }
    // HTTPS through the proxy: it sees a CONNECT, never the request or its key.
    let tunnelled = try isolated(
      binary, ["sync", "--json", "--cacert", ca.certificate, "--store", world.store, world.logs],
      environment: environment(base: "https://\(TestSquid.apiHost):\(nginx.port)/v1", ["HTTPS_PROXY": squid.url]))
    #expect(tunnelled.status == 0, "\(tunnelled.stderr)")
    #expect(summary(tunnelled)["archived"] as? Int == world.count)
    #expect(squid.log.contains("CONNECT"), "the proxy was not used: \(squid.log)")
    #expect(!squid.log.contains(key))

    // Plain http to a loopback address with every proxy variable set: straight to the server.
    let before = squid.log
    let other = try makeWorld()
    defer { other.emulator.stop() }
    let direct = try isolated(
      binary, ["sync", "--json", "--store", other.store, other.logs],
      environment: environment(
        base: other.emulator.baseURL, ["http_proxy": squid.url, "ALL_PROXY": squid.url, "HTTPS_PROXY": squid.url]))
    #expect(direct.status == 0, "\(direct.stderr)")
    #expect(squid.log == before, "loopback traffic went through the proxy")
    #expect(!squid.log.contains(key))
  }

  // MARK: Failures that are no one file's fault

  /// Runs a sync that must stop at once: exit 1 within 30 s, one message, no file changed.
  func expectRunWideStop(
    _ world: World, base: String, extra: [String: String] = [:], arguments: [String] = [], mentioning words: [String]
  ) throws {
    let started = Date()
    let result = try isolated(
      binary, ["sync"] + arguments + ["--store", world.store, world.logs], environment: environment(base: base, extra))
    let elapsed = Date().timeIntervalSince(started)
    #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
    #expect(elapsed < 30, "took \(elapsed) s")
    let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
    #expect(errors.count == 1, "\(result.stderr)")
    for word in words { #expect(result.stderr.contains(word), "no \"\(word)\" in: \(result.stderr)") }
    #expect(!result.stderr.contains(key) && !result.stdout.contains(key))
    let states = try states(world)
    #expect(states.count == world.count && states.allSatisfy { $0 == "pending" }, "\(states)")
  }

  @Test func certificatesTheRunCannotTrustStopIt() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let (ca, _, nginx) = try tlsFront(world)
    let wrongName = try ca.issue("other", names: ["other.example"])
    defer { nginx.stop() }
    let mismatched = try TestNginx(
      in: world.directory.file("nginx-other"), certificate: wrongName.certificate, key: wrongName.key,
      mode: .proxy(backendPort: world.emulator.port))
    defer { mismatched.stop() }
    // Signed by a CA nobody trusts here.
    try expectRunWideStop(world, base: "https://localhost:\(nginx.port)/v1", mentioning: ["certificate", "--cacert"])
    // Trusted CA, but issued for another name.
    try expectRunWideStop(
      world, base: "https://localhost:\(mismatched.port)/v1", arguments: ["--cacert", ca.certificate],
      mentioning: ["certificate", "localhost"])
    // Trusted CA and the right name, but expired.
    let expired = try ca.issueExpired("expired", names: ["localhost", "127.0.0.1"])
    let stale = try TestNginx(
      in: world.directory.file("nginx-expired"), certificate: expired.certificate, key: expired.key,
      mode: .proxy(backendPort: world.emulator.port))
    defer { stale.stop() }
    try expectRunWideStop(
      world, base: "https://localhost:\(stale.port)/v1", arguments: ["--cacert", ca.certificate],
      mentioning: ["certificate", "expired"])
    // https:// to a port that speaks plain http.
    try expectRunWideStop(
      world, base: "https://127.0.0.1:\(world.emulator.port)/v1", mentioning: ["https", "OPENAI_BASE_URL"])
    #expect(contentRequests(world.emulator).isEmpty)
  }

  @Test func aBaseURLThatAnswers404ToEverythingLosesNothing() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    try expectRunWideStop(
      world, base: "http://127.0.0.1:\(world.emulator.port)", mentioning: ["OPENAI_BASE_URL", "/v1", "404"])
    let right = try isolated(
      binary, ["sync", "--json", "--store", world.store, world.logs],
      environment: environment(base: world.emulator.baseURL))
    #expect(right.status == 0, "\(right.stderr)")
    #expect(summary(right)["archived"] as? Int == world.count)
  }

  @Test func proxiesThatRejectOrAreDownStopTheRun() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let (ca, _, nginx) = try tlsFront(world, "api", names: [TestSquid.apiHost, "localhost", "127.0.0.1"])
    defer { nginx.stop() }
    let guarded = try TestSquid(in: world.directory.file("squid"), credentials: "alice:right-password")
    defer { guarded.stop() }
    let base = "https://\(TestSquid.apiHost):\(nginx.port)/v1"
    let wrong = "http://alice:wrong-password@127.0.0.1:\(guarded.port)"
    try expectRunWideStop(
      world, base: base, extra: ["HTTPS_PROXY": wrong], arguments: ["--cacert", ca.certificate],
      mentioning: ["proxy", "http://127.0.0.1:\(guarded.port)", "407"])
    #expect(!guarded.log.contains(key))
    // A proxy that is not there.
    let down = "http://127.0.0.1:\(freePort())"
    try expectRunWideStop(
      world, base: base, extra: ["HTTPS_PROXY": down], arguments: ["--cacert", ca.certificate],
      mentioning: ["proxy", down, "NO_PROXY"])
    // With the right password the same run goes through.
    let right = try isolated(
      binary, ["sync", "--json", "--cacert", ca.certificate, "--store", world.store, world.logs],
      environment: environment(base: base, ["HTTPS_PROXY": "http://alice:right-password@127.0.0.1:\(guarded.port)"]))
    #expect(right.status == 0, "\(right.stderr)")
    #expect(summary(right)["archived"] as? Int == world.count)
    #expect(!guarded.log.contains(key) && !guarded.log.contains("right-password"))
  }

  /// An HTTPS proxy whose certificate a private CA signed: `--cacert` applies to it too.
  @Test func anHTTPSProxyIsTrustedThroughCACert() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let (ca, _, nginx) = try tlsFront(world, "api", names: [TestSquid.apiHost, "localhost", "127.0.0.1"])
    let proxyCertificate = try ca.issue("proxy", names: ["127.0.0.1"])
    defer { nginx.stop() }
    let squid = try TestSquid(in: world.directory.file("squid"), tls: proxyCertificate)
    defer { squid.stop() }
    let base = "https://\(TestSquid.apiHost):\(nginx.port)/v1"
    #expect(squid.url.hasPrefix("https://"))
    // Without the CA, the proxy's own certificate is not trusted: one message, nothing changed.
    try expectRunWideStop(
      world, base: base, extra: ["HTTPS_PROXY": squid.url], mentioning: ["certificate", "--cacert"])
    // squid's TLS port now and then leaves one tunnelled transfer without a byte; a short
    // stall timeout retries it (the default, 60 s, would hold the test for a minute).
    let through = try isolated(
      binary,
      ["sync", "--json", "--stall-timeout", "5", "--cacert", ca.certificate, "--store", world.store, world.logs],
      environment: environment(base: base, ["HTTPS_PROXY": squid.url]))
    #expect(through.status == 0, "\(through.stderr)")
    #expect(summary(through)["archived"] as? Int == world.count)
    #expect(squid.log.contains("CONNECT") && !squid.log.contains(key))
  }

  @Test func aBadCACertIsSaidAtStart() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let notPEM = world.directory.write("not-a-ca.pem", "hello\n")
    for (path, words) in [("/no/such/ca.pem", ["--cacert", "/no/such/ca.pem"]), (notPEM, ["--cacert", "not a PEM"])] {
      let result = try isolated(
        binary, ["sync", "--cacert", path, "--store", world.store, world.logs],
        environment: environment(base: world.emulator.baseURL))
      #expect(result.status == 1)
      for word in words { #expect(result.stderr.contains(word), "\(result.stderr)") }
      // Said at start: before a log is read.
      let recorded = FileManager.default.fileExists(atPath: world.store + "/catalog.sqlite") ? try states(world) : []
      #expect(recorded.isEmpty, "the logs were read before the bundle was checked")
    }
    #expect(world.emulator.requestLog.isEmpty)
  }

  @Test func aRedirectToAnotherHostIsNamedAsSuch() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let ca = try TestCA(in: world.directory.file("ca"))
    let server = try ca.issue("localhost", names: ["localhost", "127.0.0.1"])
    let target = try TestNginx(
      in: world.directory.file("nginx-target"), certificate: server.certificate, key: server.key,
      mode: .proxy(backendPort: world.emulator.port))
    defer { target.stop() }
    // 127.0.0.1 redirects to localhost: another host name, to which libcurl sends no key.
    let redirecting = try TestNginx(
      in: world.directory.file("nginx-redirect"), certificate: server.certificate, key: server.key,
      mode: .redirect(target: "https://localhost:\(target.port)"))
    defer { redirecting.stop() }
    try expectRunWideStop(
      world, base: "https://127.0.0.1:\(redirecting.port)/v1", arguments: ["--cacert", ca.certificate],
      mentioning: ["redirected", "localhost:\(target.port)"])
  }

  /// A plain-http name that only looks like loopback (`127.…` as a host name), mapped to
  /// 127.0.0.1 in a private mount namespace's /etc/hosts, never gets the key.
  @Test func aNameThatLooksLikeLoopbackIsNotLoopback() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    guard (try? shell("unshare -m true")) != nil else {
      Issue.record("unshare -m is not allowed here")
      return
    }
    let hosts = world.directory.write("hosts", "127.0.0.1 localhost 127.attacker.example\n")
    let command =
      "mount --bind '\(hosts)' /etc/hosts && OPENAI_API_KEY='\(key)' "
      + "OPENAI_BASE_URL='http://127.attacker.example:\(world.emulator.port)/v1' '\(binary.path)' sync "
      + "--store '\(world.store)' '\(world.logs)'"
    let result = try run(URL(fileURLWithPath: "/usr/bin/unshare"), ["-m", "/bin/sh", "-c", command])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.contains("refusing to send the API key over plain http"), "\(result.stderr)")
    #expect(world.emulator.requestLog.isEmpty, "the key went to \(world.emulator.requestLog.count) requests")
  }
}
