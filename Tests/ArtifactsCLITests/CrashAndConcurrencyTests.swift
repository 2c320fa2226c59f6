// Runs killed at random moments and runs at the same time: afterwards the store checks clean
// and every file is archived exactly once.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

struct CrashAndConcurrencyTests {
  let key = "sk-crash-test"
  let binary = TestPaths.binary("artifacts")

  func corpus(_ emulator: ContainersEmulator, files count: Int) -> TemporaryDirectory {
    var lines: [String] = []
    for containerNumber in 0..<4 {
      let files = (0..<(count / 4)).map { index in
        EmulatedFile(
          id: FakeID.file(containerNumber * 1000 + index), path: "/mnt/data/\(index).bin",
          bytes: (0..<(4096 + index * 977)).map { UInt8(truncatingIfNeeded: $0 &* (index + containerNumber + 1)) })
      }
      let container = emulator.addContainer(id: FakeID.container(1100 + containerNumber), files: files)
      lines.append(
        responseLine(
          id: FakeID.response(1100 + containerNumber), container: container,
          files: files.map { ($0.id, "\($0.id).bin") }))
    }
    let logs = TemporaryDirectory("logs")
    logs.write("runs.jsonl", lines.joined(separator: "\n") + "\n")
    return logs
  }

  func archivedFileIDs(_ store: TemporaryDirectory) throws -> [String] {
    let found = try run(binary, ["find", "--store", store.path, "--json"], environment: [:])
    return try found.stdoutLines.map { line in
      let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return try #require(record["file_id"] as? String)
    }
  }

  @Test func syncKilledAtThirtyRandomMomentsLeavesACleanStore() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.01)
    let logs = corpus(emulator, files: 80)
    let store = TemporaryDirectory("store")
    let environment = ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL]
    var generator = SystemRandomNumberGenerator()
    for round in 0..<30 {
      // The log grows every few rounds, so kills land in scanning as well as in transfers,
      // ingest and commits.
      if round % 5 == 0 {
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logs.file("runs.jsonl")))
        try log.seekToEnd()
        try log.write(contentsOf: Data(String(repeating: #"{"filler": "no citation here"}"# + "\n", count: 2000).utf8))
        try log.close()
      }
      let process = Process()
      process.executableURL = binary
      process.arguments = ["sync", "--quiet", "--jobs", "4", "--store", store.path, logs.path]
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.6, using: &generator))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      let check = try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:])
      #expect(check.status == 0, "round \(round): \(check.stdout)\(check.stderr)")
    }
    let final = try run(binary, ["sync", "--store", store.path, logs.path], environment: environment)
    #expect(final.status == 0, "\(final.stdout)\(final.stderr)")
    let archived = try archivedFileIDs(store)
    #expect(archived.count == 80 && Set(archived).count == 80)
    let check = try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:])
    #expect(check.status == 0 && check.stdout.contains("No damage found."))
    #expect(try run(binary, ["gc", "--store", store.path, "--grace", "0s", "--apply"], environment: [:]).status == 0)
    #expect(partialFiles(in: store.file("tmp")).isEmpty)
  }

  @Test func concurrentSyncsDownloadEachFileOnce() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.02)
    let logs = corpus(emulator, files: 60)
    let store = TemporaryDirectory("store")
    let environment = ProcessInfo.processInfo.environment.merging([
      "OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL,
    ]) { $1 }
    var processes: [(Process, TemporaryDirectory)] = []
    for _ in 0..<3 {
      let output = TemporaryDirectory("out")
      let process = Process()
      process.executableURL = binary
      process.arguments = ["sync", "--json", "--jobs", "4", "--store", store.path, logs.path]
      process.environment = environment
      _ = FileManager.default.createFile(atPath: output.file("out"), contents: nil)
      _ = FileManager.default.createFile(atPath: output.file("err"), contents: nil)
      process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output.file("out")))
      process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output.file("err")))
      try process.run()
      processes.append((process, output))
    }
    // A reader at the same time: find works while syncs write.
    let reading = try run(binary, ["find", "--store", store.path, "--state", "pending"], environment: [:])
    #expect([0, 1].contains(reading.status), "\(reading.stderr)")
    var archivedByRuns = 0
    for (process, output) in processes {
      process.waitUntilExit()
      let errors = (try? String(contentsOfFile: output.file("err"), encoding: .utf8)) ?? ""
      #expect(process.terminationStatus == 0, "\(errors)")
      let lines = ((try? String(contentsOfFile: output.file("out"), encoding: .utf8)) ?? "").split(separator: "\n")
      let last = try #require(lines.last)
      let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
      archivedByRuns += summary["archived"] as? Int ?? 0
    }
    #expect(archivedByRuns == 60, "each file archived by exactly one run")
    let downloads = emulator.requestLog.filter { $0.path.hasSuffix("/content") && $0.status == 200 }.count
    #expect(downloads == 60, "no file downloaded twice")
    #expect(Set(try archivedFileIDs(store)).count == 60)
    #expect(try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:]).status == 0)
  }
}

/// A full disk and a read-only store give clear errors and leave a consistent store. They need
/// to mount a small tmpfs, which only root may do; elsewhere they are skipped.
struct FullDiskTests {
  let key = "sk-disk-test"
  let binary = TestPaths.binary("artifacts")

  /// Whether a tmpfs can really be mounted here (root, and a sandbox that allows it): tried
  /// once, so the tests are reported as skipped rather than passing without testing anything.
  static let canMount: Bool = {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/mount") else { return false }
    let probe = TemporaryDirectory("mount-probe")
    guard
      (try? run(
        URL(fileURLWithPath: "/usr/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.path], environment: [:]))?
        .status == 0
    else { return false }
    _ = try? run(URL(fileURLWithPath: "/usr/bin/umount"), [probe.path], environment: [:])
    return true
  }()

  func mount(_ directory: String, options: String) throws -> Bool {
    try run(
      URL(fileURLWithPath: "/usr/bin/mount"), ["-t", "tmpfs", "-o", options, "tmpfs", directory], environment: [:]
    ).status == 0
  }

  @Test(.enabled(if: FullDiskTests.canMount))
  func aFullDiskFailsClearlyAndLeavesAConsistentStore() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (0..<8).map { index in
      EmulatedFile(
        id: FakeID.file(index), path: "/mnt/data/\(index).bin",
        bytes: (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* (index + 3) &+ index) })
    }
    let container = emulator.addContainer(id: FakeID.container(77), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(77), container: container, files: files.map { ($0.id, "\($0.id).bin") }) + "\n")
    let mountPoint = TemporaryDirectory("disk")
    try #require(try mount(mountPoint.path, options: "size=3m"))
    defer { _ = try? run(URL(fileURLWithPath: "/usr/bin/umount"), [mountPoint.path], environment: [:]) }
    let store = mountPoint.file("store")
    let result = try run(
      binary, ["sync", "--store", store, logs.path],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    #expect([1, 3].contains(result.status), "a clear failure, not a crash: \(result.status) \(result.stderr)")
    #expect(
      result.stderr.contains("No space left on device") || result.stdout.contains("No space left on device")
        || result.stderr.contains("disk is full"), "\(result.stdout)\(result.stderr)")
    let check = try run(binary, ["check", "--store", store, "--read-data"], environment: [:])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(partialFiles(in: store + "/tmp").isEmpty)
  }

  @Test(.enabled(if: FullDiskTests.canMount))
  func aReadOnlyStoreIsRefusedClearly() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a.csv", bytes: Array("a\n".utf8))]
    let container = emulator.addContainer(id: FakeID.container(78), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl", responseLine(id: FakeID.response(78), container: container, files: [(FakeID.file(1), "a.csv")]) + "\n")
    let mountPoint = TemporaryDirectory("disk")
    try #require(try mount(mountPoint.path, options: "size=16m"))
    defer { _ = try? run(URL(fileURLWithPath: "/usr/bin/umount"), [mountPoint.path], environment: [:]) }
    let store = mountPoint.file("store")
    let environment = ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL]
    #expect(try run(binary, ["sync", "--store", store, logs.path], environment: environment).status == 0)
    #expect(
      try run(URL(fileURLWithPath: "/usr/bin/mount"), ["-o", "remount,ro", mountPoint.path], environment: [:]).status
        == 0)
    let refused = try run(binary, ["sync", "--store", store, logs.path], environment: environment)
    #expect(refused.status == 1, "\(refused.stderr)")
    #expect(refused.stderr.contains("read-only file system"), "\(refused.stderr)")
    #expect(!refused.stderr.contains("Fatal error") && !refused.stderr.contains("crashed"))
  }
}
