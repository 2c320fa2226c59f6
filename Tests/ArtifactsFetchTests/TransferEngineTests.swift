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
    guard case .unarchived(_, let reason404) = missing, case .unarchived(_, let reason400) = gone else {
      Issue.record("expected lost, got \(missing) and \(gone)")
      return
    }
    // Decided where the answer is read, and carried as a kind: lost, because the API said so.
    #expect(reason404.kind == .fileNotFound && reason404.isFinal && !reason404.concernsContainer)
    #expect(reason400.kind == .containerExpired && reason400.isFinal && reason400.concernsContainer)
    #expect(reason404.message.contains("HTTP 404") && reason404.message.contains("not found"))
    #expect(
      reason400.message.contains("HTTP 400") && reason400.message.contains("expired")
        && reason400.message.contains("request req_"))
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

  @Test(arguments: Fault.allCases)
  func eachFaultAloneIsSurvived(_ fault: Fault) async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let bytes = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: bytes)])
    let counter = Counter()
    emulator.setFaultInjector { _ in counter.next() == 0 ? fault : nil }
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("a"))
    transfers.shutdown()
    guard case .downloaded(let download) = outcome else {
      Issue.record("\(fault): expected a download, got \(outcome)"); return
    }
    #expect(download.digest == Digest(bytes: SHA256.hash(data: bytes)), "\(fault)")
    #expect(download.size == Int64(bytes.count))
    let requests = emulator.requestLog
    if case .stall = fault {
      #expect(requests.count <= 2)
    } else {
      #expect(requests.count == 2, "\(fault): one failure, one success")
    }
    if fault == .truncatedBody || fault == .resetMidBody {
      // The second request asks only for what is missing, and gets it. (A reset discards
      // bytes in flight, so less than the half that was sent may have arrived.)
      let range = try #require(requests.last?.headers["range"])
      let from = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
      #expect(fault == .truncatedBody ? from == 300_000 : (from > 0 && from <= 300_000), "\(fault): \(range)")
      #expect(requests.last?.status == 206)
    }
  }

  @Test func resumeRestartsWhenTheServerIgnoresTheRange() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let bytes = Array(repeating: UInt8(7), count: 100_000)
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: bytes)])
    let counter = Counter()
    // First a cut body; then a 200 for the whole file (as a server without Range would send).
    emulator.setHonoursRanges(false)
    emulator.setFaultInjector { _ in counter.next() == 0 ? .truncatedBody : nil }
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("a"))
    transfers.shutdown()
    guard case .downloaded(let download) = outcome else { Issue.record("expected a download, got \(outcome)"); return }
    #expect(download.digest == Digest(bytes: SHA256.hash(data: bytes)))
    #expect(download.size == 100_000)
    #expect(emulator.requestLog.last?.headers["range"] != nil)
    #expect(emulator.requestLog.last?.status == 200)
  }

  @Test func containerStatusGivesADeadlineOnTheServerClock() async throws {
    // The server's clock runs an hour ahead of ours: the deadline must not move with it.
    let skewed = Date().addingTimeInterval(3600)
    let emulator = ContainersEmulator(apiKey: key, ttl: 120, clock: { skewed })
    try emulator.start()
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [])
    let transfers = try engine(emulator)
    let before = Date()
    let answer = await transfers.containerStatus(container)
    let after = Date()
    let missing = await transfers.containerStatus("cntr_unknown")
    transfers.shutdown()
    guard case .ok(let status) = answer else { Issue.record("expected a status, got \(answer)"); return }
    #expect(status.lifetimeSeconds == 120)
    // 120 s from the request, on our clock, less up to a second (Date has whole seconds).
    #expect(status.deadline >= before.addingTimeInterval(118) && status.deadline <= after.addingTimeInterval(120))
    guard case .gone = missing else { Issue.record("expected gone, got \(missing)"); return }
  }

  /// With every download slot taken, a container call still goes at once: keep-alives must
  /// not wait behind downloads.
  @Test func containerCallsDoNotWaitForADownloadSlot() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: [1])])
    // The download holds the only download slot for 3 s; status calls answer at once.
    emulator.setFaultInjector { request in request.path.hasSuffix("/content") ? .stall(seconds: 3) : nil }
    let directory = TemporaryDirectory()
    let transfers = try engine(emulator, jobs: 1)
    // Once libcurl has seen that the server speaks HTTP/1.1, it stops waiting to multiplex.
    _ = await transfers.containerStatus(container)
    async let download = transfers.download(
      ContainerFileRef(containerID: container, fileID: FakeID.file(1)), to: directory.file("a.part"))
    // Wait until the download is on the wire (it has reached the server).
    while !emulator.requestLog.contains(where: { $0.path.hasSuffix("/content") }) {
      try await Task.sleep(nanoseconds: 10_000_000)
    }
    let status = await transfers.containerStatus(container)
    let statusAnswered = Date()
    _ = await download
    let downloadDone = Date()
    transfers.shutdown()
    guard case .ok = status else { Issue.record("expected a status, got \(status)"); return }
    // Behind the download it could only answer after it; beside it, it answers while it runs.
    #expect(downloadDone.timeIntervalSince(statusAnswered) > 1, "the status call waited for the download slot")
  }

  @Test func listingFollowsEveryPage() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (1...250).map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0).csv", bytes: [1], createdAt: Int64($0))
    }
    let container = emulator.addContainer(files: files)
    let transfers = try engine(emulator)
    let answer = await transfers.listFiles(container)
    transfers.shutdown()
    guard case .ok(let listed) = answer else { Issue.record("expected a list, got \(answer)"); return }
    #expect(listed.map(\.id) == files.map(\.id))
    #expect(emulator.requestLog.count == 3)
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
    guard case .unarchived(_, let reason) = outcome, !reason.isFinal else {
      Issue.record("expected failed, got \(outcome)")
      return
    }
    #expect(reason.kind == .gaveUp)
    #expect(reason.message.contains("HTTP 500") && reason.message.contains("3 attempts"))
    #expect(emulator.requestLog.count == 3)
  }

  @Test func unsafeIdsAreNeverRequested() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let transfers = try engine(emulator)
    let outcome = await transfers.download(
      ContainerFileRef(containerID: "cntr_1/../..", fileID: "cfile_1"), to: "/tmp/x")
    transfers.shutdown()
    guard case .unarchived(_, let reason) = outcome, !reason.isFinal else {
      Issue.record("expected failed, got \(outcome)")
      return
    }
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
