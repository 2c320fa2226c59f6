// `artifacts sync --watch` as a process: events streamed as they happen, SIGTERM (and a second
// signal), and a seeded randomized model test in the spirit of Vector's file-source tests —
// appends, partial lines, rotations, copytruncate, truncate-and-rewrite, deletions, new
// folders, pauses and kill -9 — checked against what must end up archived.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Synchronization
import Testing

/// A watcher process whose stdout is read line by line while it runs.
final class WatchProcess: Sendable {
  let process: Process
  private let output = LineCollector()

  init(store: String, paths: [String], environment: [String: String], extra: [String] = []) throws {
    process = Process()
    process.executableURL = TestPaths.binary("artifacts")
    process.arguments = ["sync", "--watch", "--json", "--jobs", "4", "--store", store] + extra + paths
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    let collector = self.output
    stdout.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      if data.isEmpty { handle.readabilityHandler = nil } else { collector.take(data) }
    }
    try process.run()
  }

  var events: [[String: Any]] {
    output.lines.compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
  }

  func events(_ name: String) -> [[String: Any]] { events.filter { $0["event"] as? String == name } }

  var isWatching: Bool { !events("watching").isEmpty }

  func signal(_ number: Int32) { kill(process.processIdentifier, number) }

  /// Waits for the exit; returns the status and how long it took.
  func waitForExit(timeout: Double = 20) async -> (status: Int32?, seconds: Double) {
    let started = Date()
    while process.isRunning && Date().timeIntervalSince(started) < timeout { await pause(0.01) }
    guard !process.isRunning else {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return (nil, timeout)
    }
    let seconds = Date().timeIntervalSince(started)
    await pause(0.1)  // the last bytes of stdout may still be on their way
    return (process.terminationStatus, seconds)
  }
}

func pause(_ seconds: Double) async {
  try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
}

/// `eventually` for conditions that run a process: asked every 100 ms, not every 2.
func waitUntil(timeout: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
  let end = Date().addingTimeInterval(timeout)
  while Date() < end {
    if try condition() { return true }
    await pause(0.1)
  }
  return try condition()
}

/// Complete lines from a stream of bytes.
final class LineCollector: Sendable {
  private let state = Mutex((lines: [String](), partial: Data()))

  func take(_ data: Data) {
    state.withLock { state in
      state.partial.append(data)
      while let newline = state.partial.firstIndex(of: 0x0A) {
        state.lines.append(String(decoding: state.partial[state.partial.startIndex..<newline], as: UTF8.self))
        state.partial.removeSubrange(state.partial.startIndex...newline)
      }
    }
  }

  var lines: [String] { state.withLock { $0.lines } }
}

@Suite(.serialized)
struct WatchEndToEndTests {
  let key = "sk-watch-test-0123456789"
  let binary = TestPaths.binary("artifacts")

  var environment: (ContainersEmulator) -> [String: String] {
    { ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": $0.baseURL] }
  }

  func archived(_ store: String) throws -> [String] {
    let found = try run(binary, ["find", "--store", store, "--state", "archived", "--json"], environment: [:])
    return found.stdoutLines.compactMap { line in
      ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["file_id"] as? String
    }
  }

  /// A container with `count` files whose citing lines the test writes one by one.
  func cited(_ emulator: ContainersEmulator, container number: Int, count: Int) -> (String, [EmulatedFile]) {
    let files = (0..<count).map { index in
      EmulatedFile(
        id: FakeID.file(number * 10_000 + index), path: "/mnt/data/f\(index).csv",
        bytes: Array("container \(number) file \(index)\n".utf8))
    }
    return (emulator.addContainer(id: FakeID.container(number), files: files), files)
  }

  @Test func streamsEventsAndStopsOnSigterm() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (container, files) = cited(emulator, container: 1, count: 3)
    let logs = TemporaryDirectory("logs")
    let log = logs.file("app.jsonl")
    appendToFile(
      log, responseLine(id: FakeID.response(1), container: container, files: [(files[0].id, "f0.csv")]) + "\n")
    let store = TemporaryDirectory("store")
    let watch = try WatchProcess(
      store: store.path, paths: [logs.path], environment: environment(emulator), extra: ["--cited-only"])
    #expect(await waitUntil(timeout: 90) { watch.isWatching && watch.events("download").count == 1 })
    // A line written now is archived while the watcher runs, and said at once on stdout.
    appendToFile(
      log, responseLine(id: FakeID.response(2), container: container, files: [(files[1].id, "f1.csv")]) + "\n")
    #expect(await waitUntil(timeout: 90) { watch.events("download").count == 2 })
    #expect(watch.events("download").last?["file_id"] as? String == files[1].id)

    // A transfer under way when SIGTERM comes: the exit is clean, and as soon as the 8 s grace
    // has run out (the transfer would take 60 s); the bound leaves room for a loaded machine.
    emulator.setLatency(60)
    appendToFile(
      log, responseLine(id: FakeID.response(3), container: container, files: [(files[2].id, "f2.csv")]) + "\n")
    await pause(0.5)
    watch.signal(SIGTERM)
    let (status, seconds) = await watch.waitForExit()
    #expect(status == 0)
    #expect(seconds < 15)
    let summary = try #require(watch.events("summary").last)
    #expect(summary["archived"] as? Int == 2)
    emulator.setLatency(0)
    let check = try run(binary, ["check", "--store", store.path], environment: [:])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(partialFiles(in: store.path).isEmpty)
    // The next start takes the file that was cut short, and downloads nothing twice.
    let again = try WatchProcess(
      store: store.path, paths: [logs.path], environment: environment(emulator), extra: ["--cited-only"])
    #expect(await waitUntil(timeout: 90) { again.events("download").count == 1 })
    again.signal(SIGINT)
    #expect(await again.waitForExit().status == 0)
    #expect(Set(try archived(store.path)) == Set(files.map(\.id)))
  }

  @Test func aSecondSignalExitsAtOnce() async throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (container, files) = cited(emulator, container: 2, count: 1)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "app.jsonl", responseLine(id: FakeID.response(1), container: container, files: [(files[0].id, "a")]) + "\n")
    emulator.setLatency(60)
    let store = TemporaryDirectory("store")
    let watch = try WatchProcess(store: store.path, paths: [logs.path], environment: environment(emulator))
    #expect(await waitUntil(timeout: 90) { watch.isWatching })
    watch.signal(SIGTERM)
    await pause(0.2)
    watch.signal(SIGTERM)
    let (status, seconds) = await watch.waitForExit()
    #expect(status == 128 + SIGTERM)
    // Well before the first signal's grace (8 s) and the transfer (60 s); the full suite on
    // two cores once took 2.25 s to see the exit.
    #expect(seconds < 5)
    emulator.setLatency(0)
    #expect(try run(binary, ["check", "--store", store.path], environment: [:]).status == 0)
  }

  /// The model: the files cited by every line the test has written and not destroyed before
  /// the watcher could have read it. Moves that destroy lines (truncate-and-rewrite,
  /// deletion) first wait until what was written is archived, as a deployment rotating
  /// old logs would be long after they were read.
  @Test(arguments: [UInt64(0x5EED_0001), 0x5EED_0002])
  func randomWritesRotationsAndKillsLoseNothing(seed: UInt64) async throws {
    var random = SeededGenerator(seed: seed)
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.005)
    let contentRequests = Mutex<[(Date, String)]>([])
    emulator.onRequest { request in
      if request.path.hasSuffix("/content") && request.status == 200 {
        contentRequests.withLock { $0.append((Date(), request.path)) }
      }
    }
    let containers = (0..<4).map { cited(emulator, container: 100 + $0, count: 400) }
    var nextFile = Array(repeating: 0, count: containers.count)
    var expected = Set<String>()
    var responseNumber = 0
    // What was done, for the message of a failure.
    var history: [String] = []
    func line() -> String {
      let which = Int.random(in: 0..<containers.count, using: &random)
      let (container, files) = containers[which]
      let file = files[nextFile[which]]
      nextFile[which] += 1
      responseNumber += 1
      expected.insert(file.id)
      history.append("cite \(file.id)")
      return responseLine(
        id: FakeID.response(Int(seed & 0xFFFF) * 100_000 + responseNumber), container: container,
        files: [(file.id, "f\(nextFile[which]).csv")]) + "\n"
    }

    let logs = TemporaryDirectory("logs")
    let store = TemporaryDirectory("store")
    var active = logs.file("app.jsonl")
    appendToFile(active, line())
    // Cited files only: the containers hold many more that no line names.
    let cliFlags = ["--cited-only"]
    var watch = try WatchProcess(
      store: store.path, paths: [logs.path], environment: environment(emulator), extra: cliFlags)
    var kills: [Date] = []
    var pendingHalf: String?
    var rotations = 0
    var folders = 0
    let moves = 60
    for _ in 0..<moves {
      if let rest = pendingHalf {
        appendToFile(active, rest)
        pendingHalf = nil
      }
      let move = Int.random(in: 0..<100, using: &random)
      history.append("move \(move) on \(active.dropFirst(logs.path.count))")
      switch move {
      case 0..<35:
        appendToFile(active, (0..<Int.random(in: 1...3, using: &random)).map { _ in line() }.joined())
      case 35..<45:
        let whole = line()
        let cut = whole.index(whole.startIndex, offsetBy: Int.random(in: 1..<(whole.count - 1), using: &random))
        appendToFile(active, String(whole[..<cut]))
        pendingHalf = String(whole[cut...])
      case 45..<53:
        rotations += 1
        try FileManager.default.moveItem(atPath: active, toPath: active + ".\(rotations)")
        appendToFile(active, line())
      case 53..<60:
        rotations += 1
        try FileManager.default.copyItem(atPath: active, toPath: active + ".\(rotations)")
        let handle = FileHandle(forWritingAtPath: active)!
        handle.truncateFile(atOffset: 0)
        handle.closeFile()
        appendToFile(active, line())
      case 60..<65:
        #expect(try await waitUntil(timeout: 90) { Set(try archived(store.path)).isSuperset(of: expected) })
        try Data(line().utf8).write(to: URL(fileURLWithPath: active))
      case 65..<69:
        #expect(try await waitUntil(timeout: 90) { Set(try archived(store.path)).isSuperset(of: expected) })
        let rotated = (try FileManager.default.contentsOfDirectory(atPath: logs.path)).filter {
          $0.hasPrefix("app.jsonl.")
        }
        if let victim = rotated.randomElement(using: &random) {
          try FileManager.default.removeItem(atPath: logs.file(victim))
        }
      case 69..<75:
        folders += 1
        logs.write("2026/\(folders)/more.jsonl", line())
        if Bool.random(using: &random) { active = logs.file("2026/\(folders)/more.jsonl") }
      case 75..<92:
        await pause(Double.random(in: 0...0.3, using: &random))
      default:
        await pause(Double.random(in: 0...0.4, using: &random))
        watch.signal(SIGKILL)
        _ = await watch.waitForExit()
        kills.append(Date())
        if Bool.random(using: &random) { appendToFile(active, line()) }  // written while nobody watched
        watch = try WatchProcess(
          store: store.path, paths: [logs.path], environment: environment(emulator), extra: cliFlags)
      }
    }
    if let rest = pendingHalf { appendToFile(active, rest) }
    let complete = try await waitUntil(timeout: 60) { Set(try archived(store.path)).isSuperset(of: expected) }
    let missing = expected.subtracting(try archived(store.path)).sorted()
    #expect(
      complete,
      "seed \(seed): \(missing.count) missing, such as \(missing.prefix(3)); moves: \(history.joined(separator: "; "))")
    watch.signal(SIGTERM)
    #expect(await watch.waitForExit().status == 0, "seed \(seed)")

    // Nothing extra, nothing lost, a clean store.
    #expect(Set(try archived(store.path)) == expected, "seed \(seed)")
    let lost = try run(binary, ["find", "--store", store.path, "--state", "lost", "--json"], environment: [:])
    #expect(lost.stdoutLines.isEmpty, "seed \(seed): \(lost.stdout)")
    let check = try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:])
    #expect(check.status == 0, "seed \(seed): \(check.stdout)\(check.stderr)")
    // Downloaded once each, but for the few a kill -9 cut off between download and commit.
    let requests = contentRequests.withLock { $0 }
    var first: [String: Date] = [:]
    for (time, path) in requests {
      if let earlier = first[path] {
        let cutOff = kills.contains { $0 >= earlier && $0.timeIntervalSince(earlier) < 2 }
        #expect(cutOff, "seed \(seed): \(path) downloaded twice (\(earlier) and \(time)) with no kill between")
      } else {
        first[path] = time
      }
    }
    #expect(first.count == expected.count, "seed \(seed)")
  }
}
