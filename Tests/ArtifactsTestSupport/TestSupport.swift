// What every test target shares: where fixtures and built binaries are, scratch directories,
// running a binary and capturing its output, and a started emulator.
import ArtifactsEmulator
import Foundation

public enum TestPaths {
  /// The package root, found from this file's location.
  public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  public static let realFixtures = packageRoot.appendingPathComponent("Tests/Fixtures/real")

  public static func realFixture(_ name: String) -> String {
    realFixtures.appendingPathComponent(name).path
  }

  /// A product built beside the test bundle (`artifacts`, `artifacts-emulator`).
  public static func binary(_ name: String) -> URL {
    var candidates: [URL] = []
    if let directory = ProcessInfo.processInfo.environment["ARTIFACTS_BIN_DIR"] {
      candidates.append(URL(fileURLWithPath: directory))
    }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    candidates.append(Bundle.main.bundleURL)
    candidates.append(packageRoot.appendingPathComponent(".build/debug"))
    for directory in candidates {
      let url = directory.appendingPathComponent(name)
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return packageRoot.appendingPathComponent(".build/debug/\(name)")
  }
}

/// A directory removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
  public let path: String

  public init(_ label: String = "artifacts-test") {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    path = base.path
  }

  public func file(_ relative: String) -> String { path + "/" + relative }

  /// Writes `contents` to `relative`, creating folders as needed; returns the full path.
  @discardableResult
  public func write(_ relative: String, _ contents: String) -> String {
    write(relative, Data(contents.utf8))
  }

  @discardableResult
  public func write(_ relative: String, _ contents: Data) -> String {
    let full = file(relative)
    try! FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try! contents.write(to: URL(fileURLWithPath: full))
    return full
  }

  deinit {
    // Blobs are read-only; make them writable so the tree can be removed.
    _ = try? run(URL(fileURLWithPath: "/bin/chmod"), ["-R", "u+w", path])
    try? FileManager.default.removeItem(atPath: path)
  }
}

public struct ProcessResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String

  public var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

  public init(status: Int32, stdout: String, stderr: String) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
  }
}

/// Runs `executable` to completion with `environment` added to (or, when `inherit` is false,
/// replacing) this process's environment.
public func run(
  _ executable: URL, _ arguments: [String], environment: [String: String] = [:], inherit: Bool = true,
  stdin: String? = nil, in directory: String? = nil
) throws -> ProcessResult {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  var merged = inherit ? ProcessInfo.processInfo.environment : [:]
  for (key, value) in environment { merged[key] = value }
  process.environment = merged
  // Files rather than pipes: no risk of a full pipe blocking the child.
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
  _ = FileManager.default.createFile(atPath: scratch.path + ".out", contents: nil)
  _ = FileManager.default.createFile(atPath: scratch.path + ".err", contents: nil)
  defer {
    try? FileManager.default.removeItem(atPath: scratch.path + ".out")
    try? FileManager.default.removeItem(atPath: scratch.path + ".err")
  }
  let out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path + ".out"))
  let err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path + ".err"))
  process.standardOutput = out
  process.standardError = err
  if let stdin {
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
  } else {
    process.standardInput = FileHandle.nullDevice
    try process.run()
  }
  process.waitUntilExit()
  try out.close()
  try err.close()
  return ProcessResult(
    status: process.terminationStatus,
    stdout: (try? String(contentsOfFile: scratch.path + ".out", encoding: .utf8)) ?? "",
    stderr: (try? String(contentsOfFile: scratch.path + ".err", encoding: .utf8)) ?? "")
}

/// Fixed ids in the shapes the API uses, so tests read like real traffic.
public enum FakeID {
  public static func container(_ number: Int) -> String { "cntr_" + String(format: "%048x", number) }
  public static func file(_ number: Int) -> String { "cfile_" + String(format: "%032x", number) }
  public static func response(_ number: Int) -> String { "resp_" + String(format: "%048x", number) }
}

/// A JSON string literal for `text`, escaped as JSON requires.
public func jsonString(_ text: String) -> String {
  String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
}

/// A response JSON (one line) whose message cites `files` (id, name) in `container`.
public func responseLine(
  id: String, container: String, files: [(id: String, name: String)], model: String = "gpt-5-2025-08-07",
  createdAt: Int = Int(Date().timeIntervalSince1970)
) -> String {
  var text = "Here are your files:"
  var annotations: [String] = []
  for file in files {
    text += " ["
    text += file.name + "]("
    let start = text.unicodeScalars.count
    text += "sandbox:/mnt/data/" + file.name
    let end = text.unicodeScalars.count
    text += ")."
    annotations.append(
      #"{"type":"container_file_citation","container_id":"\#(container)","file_id":"\#(file.id)","filename":\#(jsonString(file.name)),"start_index":\#(start),"end_index":\#(end)}"#
    )
  }
  return
    #"{"id":"\#(id)","object":"response","created_at":\#(createdAt),"model":"\#(model)","status":"completed","output":[{"id":"ci_\#(id.dropFirst(5))","type":"code_interpreter_call","status":"completed","container_id":"\#(container)","code":"print(1)","outputs":null},{"id":"msg_\#(id.dropFirst(5))","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":\#(jsonString(text)),"annotations":[\#(annotations.joined(separator: ","))]}]}]}"#
}

extension ContainersEmulator {
  /// An emulator listening on 127.0.0.1 with an ephemeral port.
  public static func started(apiKey: String = "sk-test-key-0123456789", ttl: TimeInterval = 20 * 60) throws
    -> ContainersEmulator
  {
    let emulator = ContainersEmulator(apiKey: apiKey, ttl: ttl)
    try emulator.start()
    return emulator
  }
}

/// Partial transfer files (`*.part`) anywhere below `directory`.
public func partialFiles(in directory: String) -> [String] {
  (FileManager.default.subpaths(atPath: directory) ?? []).filter { $0.hasSuffix(".part") }
}

/// Appends `text` to the file at `path` (creating it if needed), as a log writer does.
public func appendToFile(_ path: String, _ text: String) {
  if let handle = FileHandle(forWritingAtPath: path) {
    handle.seekToEndOfFile()
    handle.write(Data(text.utf8))
    handle.closeFile()
  } else {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
  }
}

/// SplitMix64: the same sequence from a seed on every machine, so a failing randomized test
/// can be replayed.
public struct SeededGenerator: RandomNumberGenerator {
  public var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
