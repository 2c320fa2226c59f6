// `doctor` against a good setup and against each misconfiguration it says it finds, on the
// emulator (OpenAI and Azure) and on ports where nothing answers.
import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

struct DoctorTests {
  func doctor(_ environment: [String: String], store: String, caBundle: String? = nil) async -> [String: DoctorFinding]
  {
    let findings = await Doctor(
      api: APISettings(environment: environment, userAgent: "t", caBundlePath: caBundle), storeRoot: store
    ).run()
    return Dictionary(findings.map { ($0.check, $0) }, uniquingKeysWith: { first, _ in first })
  }

  @Test func aGoodSetupIsAllOK() async throws {
    let world = try KitWorld()
    world.cite(1)
    _ = try world.store()
    let findings = await doctor(
      ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": world.emulator.baseURL], store: world.directory.file("store"))
    #expect(findings.values.allSatisfy { $0.status == .ok }, "\(findings)")
    #expect(Set(findings.keys) == ["configuration", "certificates", "proxy", "api", "clock", "store"])
    #expect(findings["configuration"]?.message.contains("OPENAI_API_KEY") == true)
    #expect(!findings.values.contains { $0.message.contains(world.key) })
  }

  @Test func azureIsDescribedAsAzure() async throws {
    let world = try KitWorld()
    world.emulator.setFlavor(.azure)
    let findings = await doctor(
      [
        "AZURE_OPENAI_ENDPOINT": world.emulator.endpoint, "AZURE_OPENAI_API_KEY": world.key,
        "OPENAI_API_VERSION": "preview",
      ], store: world.directory.file("store"))
    let configuration = try #require(findings["configuration"])
    #expect(configuration.message.contains("Azure OpenAI") && configuration.message.contains("api-key header"))
    #expect(configuration.message.contains("api-version preview"))
    #expect(findings["api"]?.status == .ok)
    // No store yet: said, not a problem.
    #expect(findings["store"]?.status == .warning)
  }

  @Test func aMissingKeyAndBothProvidersAreProblems() async throws {
    let world = try KitWorld()
    var findings = await doctor(["OPENAI_BASE_URL": world.emulator.baseURL], store: world.directory.file("store"))
    #expect(findings["configuration"]?.status == .problem)
    #expect(findings["configuration"]?.message.contains("OPENAI_API_KEY is not set") == true)
    findings = await doctor(
      ["OPENAI_API_KEY": world.key, "AZURE_OPENAI_ENDPOINT": world.emulator.endpoint],
      store: world.directory.file("store"))
    #expect(findings["configuration"]?.message.contains("--provider") == true)
  }

  @Test func aRefusedKeyIsAProblemThatSaysWhichVariable() async throws {
    let world = try KitWorld()
    let findings = await doctor(
      ["OPENAI_API_KEY": "sk-wrong-0123456789", "OPENAI_BASE_URL": world.emulator.baseURL],
      store: world.directory.file("store"))
    let api = try #require(findings["api"])
    #expect(api.status == .problem)
    #expect(api.message.contains("rejected the credentials"))
    #expect(api.advice?.contains("OPENAI_API_KEY") == true)
    #expect(!api.message.contains("sk-wrong-0123456789"))
  }

  @Test func aWrongBaseURLAndADeadPortAreProblems() async throws {
    let world = try KitWorld()
    // The emulator without /v1: every request is answered, but not by the API.
    var findings = await doctor(
      ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": world.emulator.endpoint], store: world.directory.file("store"))
    #expect(findings["api"]?.status == .problem)
    #expect(findings["api"]?.message.contains("OPENAI_BASE_URL") == true)
    let port = freePort()
    findings = await doctor(
      ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": "http://127.0.0.1:\(port)/v1"],
      store: world.directory.file("store"))
    #expect(findings["api"]?.status == .problem)
    #expect(findings["api"]?.message.contains("nothing answers") == true)
  }

  @Test func aSkewedClockIsAWarning() async throws {
    let world = try KitWorld(clock: OffsetClock(seconds: -300))
    let findings = await doctor(
      ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": world.emulator.baseURL], store: world.directory.file("store"))
    let clock = try #require(findings["clock"])
    #expect(clock.status == .warning)
    // About 300 s: the request's own time under load moves the midpoint a little.
    let seconds = clock.message.split(separator: " ").compactMap { Int($0) }.first ?? 0
    #expect((270...330).contains(seconds) && clock.message.contains("ahead of the server's"), "\(clock.message)")
  }

  @Test func aMissingCertificateBundleAndABrokenStoreAreProblems() async throws {
    let world = try KitWorld()
    let notADirectory = world.directory.write("a-file", "x")
    let findings = await doctor(
      ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": world.emulator.baseURL], store: notADirectory,
      caBundle: world.directory.file("missing.pem"))
    #expect(findings["configuration"]?.status == .problem)
    #expect(findings["configuration"]?.message.contains("missing.pem") == true)
    #expect(findings["store"]?.status == .problem || findings["store"]?.status == .warning)
  }
}

/// The real time moved by a fixed offset: a server whose clock is off.
struct OffsetClock: WallClock {
  var seconds: Double
  func now() -> Date { Date().addingTimeInterval(seconds) }
  func sleep(seconds: Double) async throws { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
}
