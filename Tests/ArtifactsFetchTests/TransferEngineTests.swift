import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

@testable import ArtifactsFetch

struct TransferEngineTests {
  let key = "sk-test-key-0123456789"

  func engine(_ emulator: ContainersEmulator, key: String? = nil, jobs: Int = 4, attempts: Int = 4) throws
    -> TransferEngine
  {
    let configuration = try APIConfiguration(
      baseURL: emulator.baseURL, apiKey: key ?? self.key, organization: "org-1", project: "proj_1",
      userAgent: "artifacts-tests")
    return try TransferEngine(
      configuration: configuration, maximumConcurrent: jobs,
      policy: RetryPolicy(maximumAttempts: attempts, baseDelay: 0.01, maximumDelay: 0.05, maximumServerDelay: 0.2))
  }

  @Test func downloadsStreamHashAndNameFromContentDisposition() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
    let container = emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(1), path: "/mnt/data/résumé (1).bin", bytes: bytes)
    ])
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("t.part"))
    transfers.shutdown()
    guard case .downloaded(let download) = outcome else { Issue.record("expected a download, got \(outcome)"); return }
    #expect(download.size == Int64(bytes.count))
    #expect(download.digest == Digest(bytes: SHA256.hash(data: bytes)))
    #expect(download.serverFilename == "résumé (1).bin")
    #expect(try Data(contentsOf: URL(fileURLWithPath: download.temporaryPath)) == Data(bytes))
    let request = try #require(emulator.requestLog.last)
    #expect(request.headers["openai-organization"] == "org-1")
    #expect(request.headers["openai-project"] == "proj_1")
    #expect(request.headers["user-agent"] == "artifacts-tests")
    #expect(request.authorized)
  }

  @Test func missingFileAndExpiredContainerAreLost() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let alive = emulator.addContainer(files: [])
    let expired = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(2), path: "/mnt/data/x", bytes: [1])])
    emulator.expire(containerID: expired)
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator)
    let missing = await transfers.download(
      ContainerFileRef(containerID: alive, fileID: FakeID.file(1)), to: directory.file("a"))
    let gone = await transfers.download(
      ContainerFileRef(containerID: expired, fileID: FakeID.file(2)), to: directory.file("b"))
    transfers.shutdown()
    guard case .lost(_, let reason404) = missing, case .lost(_, let reason400) = gone else {
      Issue.record("expected lost, got \(missing) and \(gone)")
      return
    }
    #expect(reason404.contains("HTTP 404") && reason404.contains("not found"))
    #expect(reason400.contains("HTTP 400") && reason400.contains("expired") && reason400.contains("request req_"))
    #expect(emulator.requestLog.count == 2)  // permanent: no retries
    #expect(!FileManager.default.fileExists(atPath: directory.file("a")))
  }

  @Test func wrongKeyStopsEverythingWithOneClearError() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (1...40).map { EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0)", bytes: [UInt8($0)]) }
    let container = emulator.addContainer(files: files)
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator, key: "sk-wrong-key-999999", jobs: 2)
    let outcomes = await withTaskGroup(of: DownloadOutcome.self) { group in
      for file in files {
        group.addTask {
          await transfers.download(
            ContainerFileRef(containerID: container, fileID: file.id), to: directory.file(file.id))
        }
      }
      return await group.reduce(into: []) { $0.append($1) }
    }
    transfers.shutdown()
    let fatal = try #require(transfers.fatalError)
    #expect(fatal.code == .credentialsRejected(status: 401))
    #expect(fatal.message.contains("HTTP 401"))
    #expect(!fatal.message.contains("sk-wrong-key-999999"))
    #expect(outcomes.allSatisfy { if case .cancelled = $0 { true } else { false } })
    #expect(emulator.requestLog.count <= 2, "at most one request per connection slot, no retries")
  }

  @Test func transientFaultsAreRetriedUntilTheFileArrives() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let bytes = Array(repeating: UInt8(42), count: 200_000)
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: bytes)])
    let faults: [Fault] = [
      .status(429, retryAfterSeconds: 0.05), .status(503), .errorJSONWithOK, .truncatedBody, .resetMidBody,
    ]
    let counter = Counter()
    emulator.setFaultInjector { _ in
      let index = counter.next()
      return index < faults.count ? faults[index] : nil
    }
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator, attempts: 8)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("a"))
    transfers.shutdown()
    guard case .downloaded(let download) = outcome else { Issue.record("expected a download, got \(outcome)"); return }
    #expect(download.attempts == faults.count + 1)
    #expect(download.digest == Digest(bytes: SHA256.hash(data: bytes)))
  }

  @Test func retriesAreBounded() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: [1])])
    emulator.setFaultInjector { _ in .status(500) }
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator, attempts: 3)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("a"))
    transfers.shutdown()
    guard case .failed(_, let reason) = outcome else { Issue.record("expected failed, got \(outcome)"); return }
    #expect(reason.contains("HTTP 500") && reason.contains("3 attempts"))
    #expect(emulator.requestLog.count == 3)
  }

  @Test func unsafeIdsAreNeverRequested() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let transfers = try engine(emulator)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: "cntr_1/../..", fileID: "cfile_1"), to: "/tmp/x")
    transfers.shutdown()
    guard case .failed = outcome else { Issue.record("expected failed, got \(outcome)"); return }
    #expect(emulator.requestLog.isEmpty)
  }

  @Test func keyIsNeverSentOverPlainHTTPToARemoteHost() {
    #expect(throws: FetchError.self) {
      try APIConfiguration(baseURL: "http://api.example.com/v1", apiKey: key, userAgent: "t")
    }
    #expect(throws: Never.self) {
      try APIConfiguration(baseURL: "http://127.0.0.1:9/v1/", apiKey: key, userAgent: "t")
    }
    #expect(throws: FetchError.self) { try APIConfiguration(apiKey: "", userAgent: "t") }
    let configuration = try? APIConfiguration(apiKey: key, userAgent: "t")
    #expect(configuration.map { "\($0)" }?.contains(key) == false)
  }

  @Test func contentDispositionParsing() {
    #expect(
      Transfer.filename(
        fromContentDisposition: #"attachment; filename="file.csv"; filename*=UTF-8''numbers_and_squares.csv"#)
        == "numbers_and_squares.csv")
    #expect(Transfer.filename(fromContentDisposition: #"attachment; filename="plain.txt""#) == "plain.txt")
    #expect(Transfer.filename(fromContentDisposition: nil) == nil)
  }
}

final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func next() -> Int {
    lock.withLock {
      defer { value += 1 }
      return value
    }
  }
}
