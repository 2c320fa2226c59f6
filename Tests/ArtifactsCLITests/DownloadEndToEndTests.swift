// The download engine through the built binary against a misbehaving emulator.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct DownloadEndToEndTests {
  let key = "sk-download-test"
  let binary = TestPaths.binary("artifacts")

  func environment(_ emulator: ContainersEmulator) -> [String: String] {
    ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL, "NO_COLOR": "1"]
  }

  func summary(_ result: ProcessResult) throws -> [String: Any] {
    let last = try #require(result.stdoutLines.last)
    return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
  }

  func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

  @Test func soakWithOneRequestInFiveFailingArchivesEverythingOnce() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    var contents: [String: [UInt8]] = [:]
    var lines: [String] = []
    for containerNumber in 0..<10 {
      var files: [EmulatedFile] = []
      for fileNumber in 0..<15 {
        let number = containerNumber * 100 + fileNumber
        // Every tenth file repeats another's bytes: stored once.
        let seed = number % 10 == 9 ? number - 1 : number
        let size = 1024 + (seed * 7919) % (256 * 1024)
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* (seed | 1) &+ seed) }
        contents[FakeID.file(number)] = bytes
        files.append(EmulatedFile(id: FakeID.file(number), path: "/mnt/data/f\(number).bin", bytes: bytes))
      }
      let container = emulator.addContainer(id: FakeID.container(500 + containerNumber), files: files)
      lines.append(
        responseLine(
          id: FakeID.response(containerNumber), container: container, files: files.map { ($0.id, "f\($0.id).bin") }))
    }
    let logs = TemporaryDirectory("logs")
    logs.write("soak.jsonl", lines.joined(separator: "\n") + "\n")
    emulator.setFaultPlan(FaultPlan(rate: 0.2, seed: 42))
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--json", "--jobs", "8", "--stall-timeout", "1", "--store", store.path, logs.path],
      environment: environment(emulator))
    #expect(result.status == 0, "\(result.stderr)\n\(result.stdoutLines.suffix(3))")
    let totals = try summary(result)
    #expect(totals["archived"] as? Int == 150)
    #expect(totals["lost"] as? Int == 0 && totals["failed"] as? Int == 0)
    let faulted = emulator.requestLog.filter { ![200, 206].contains($0.status) }.count
    #expect(faulted > 10, "the plan injected faults")
    // Every blob is named by its own hash, and no content is stored twice.
    let blobs = try FileManager.default.subpathsOfDirectory(atPath: store.file("blobs/sha256")).filter {
      $0.contains("/")
    }
    for blob in blobs {
      let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: store.file("blobs/sha256/\(blob)"))))
      #expect(blob.hasSuffix(hex(bytes)), "corrupt blob \(blob)")
    }
    #expect(blobs.count == Set(contents.values.map(hex)).count)
    #expect(partialFiles(in: store.file("tmp")).isEmpty)
  }

  /// Two containers that expire after 2 s idle and 50 files that take more than twice that to
  /// download one at a time: only keep-alive saves the container waiting its turn. (The
  /// timing rules themselves are tested on a test clock in ArtifactsKitTests; this shows the
  /// flag works end to end.)
  func backlogRun(keepAlive: Bool) throws -> (ProcessResult, [String: Any]) {
    let emulator = try ContainersEmulator.started(apiKey: key, ttl: 2)
    defer { emulator.stop() }
    emulator.setLatency(0.1)
    var lines: [String] = []
    for containerNumber in 0..<2 {
      let files = (0..<25).map {
        EmulatedFile(
          id: FakeID.file(containerNumber * 100 + $0), path: "/mnt/data/\($0).csv",
          bytes: Array("\(containerNumber),\($0)\n".utf8))
      }
      let container = emulator.addContainer(id: FakeID.container(700 + containerNumber), files: files)
      lines.append(
        responseLine(
          id: FakeID.response(70 + containerNumber), container: container, files: files.map { ($0.id, "\($0.id).csv") })
      )
    }
    let logs = TemporaryDirectory("logs")
    logs.write("backlog.jsonl", lines.joined(separator: "\n") + "\n")
    let store = TemporaryDirectory("store")
    var arguments = ["sync", "--json", "--jobs", "1", "--store", store.path, logs.path]
    if !keepAlive { arguments.insert("--no-keepalive", at: 1) }
    let started = Date()
    let result = try run(binary, arguments, environment: environment(emulator))
    let elapsed = Date().timeIntervalSince(started)
    if keepAlive {
      #expect(elapsed > 2 * 2, "the backlog took \(elapsed) s: not long enough to test keep-alive")
    }
    return (result, try summary(result))
  }

  @Test func keepAliveRescuesABacklogThatNoKeepAliveLoses() throws {
    let (kept, keptTotals) = try backlogRun(keepAlive: true)
    #expect(kept.status == 0, "\(kept.stderr)")
    #expect(keptTotals["archived"] as? Int == 50)
    #expect((keptTotals["keep_alives"] as? Int ?? 0) > 0)
    #expect(kept.stdoutLines.contains { $0.contains(#""event":"keepalive""#) })

    let (lost, lostTotals) = try backlogRun(keepAlive: false)
    #expect(lost.status == 3)
    #expect((lostTotals["lost"] as? Int ?? 0) >= 20, "the waiting container expired")
    #expect((lostTotals["lost"] as? Int ?? 0) + (lostTotals["archived"] as? Int ?? 0) == 50)
    #expect((lostTotals["archived"] as? Int ?? 0) < 50)
    #expect(lost.stdoutLines.contains { $0.contains(#""event":"container_gone""#) })
  }

  @Test func filesNoCitationNamesAreFoundByListing() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(
      id: FakeID.container(800),
      files: [
        EmulatedFile(id: FakeID.file(1), path: "/mnt/data/cited.csv", bytes: [1]),
        EmulatedFile(id: FakeID.file(2), path: "/mnt/data/extra_plot.png", bytes: [2]),
        EmulatedFile(id: FakeID.file(3), path: "/mnt/data/also_made.txt", bytes: [3]),
        EmulatedFile(id: FakeID.file(4), path: "/mnt/data/uploaded_input.csv", source: "user", bytes: [4]),
      ])
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(1), container: container, files: [(FakeID.file(1), "cited.csv")]) + "\n")

    let citedOnly = TemporaryDirectory("store")
    let first = try run(
      binary, ["sync", "--json", "--cited-only", "--store", citedOnly.path, logs.path],
      environment: environment(emulator))
    #expect(try summary(first)["archived"] as? Int == 1)

    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--json", "--store", store.path, logs.path], environment: environment(emulator))
    let totals = try summary(result)
    #expect(totals["archived"] as? Int == 3)
    #expect(totals["uncited_found"] as? Int == 2)
    let found = try run(binary, ["find", "--store", store.path, "--json"], environment: [:])
    let records = try found.stdoutLines.map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(Set(records.map { $0["filename"] as? String ?? "" }) == ["cited.csv", "extra_plot.png", "also_made.txt"])
    #expect(records.filter { $0["source"] as? String == "uncited" }.count == 2)
  }

  @Test func anExpiredContainerLosesItsFilesWithOneRequest() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (1...5).map { EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0).csv", bytes: [UInt8($0)]) }
    let container = emulator.addContainer(id: FakeID.container(900), files: files)
    emulator.expire(containerID: container)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "old.jsonl",
      responseLine(
        id: FakeID.response(9), container: container, files: files.map { ($0.id, "\($0.id).csv") },
        createdAt: Int(Date().timeIntervalSince1970) - 3 * 3600) + "\n")
    let store = TemporaryDirectory("store")
    let result = try run(binary, ["sync", "--store", store.path, logs.path], environment: environment(emulator))
    #expect(result.status == 3)
    #expect(result.stderr.contains("container \(container): expired 2 h ago"), "\(result.stderr)")
    #expect(result.stderr.contains("its 5 waiting files are lost"))
    #expect(result.stdout.contains("lost              5"))
    #expect(emulator.requestLog.count == 1, "one status call, no downloads")
    let lost = try run(binary, ["find", "--store", store.path, "--state", "lost", "--json"], environment: [:])
    #expect(lost.stdoutLines.count == 5)
    #expect(lost.stdout.contains("Container is expired."))
  }
}
