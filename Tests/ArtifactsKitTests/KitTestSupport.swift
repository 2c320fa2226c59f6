import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Synchronization

@testable import ArtifactsKit

/// Collects every event a use case emits.
final class RecordingSink: EventSink {
  private let events = Mutex<[SyncEvent]>([])

  func emit(_ event: SyncEvent) { events.withLock { $0.append(event) } }

  var all: [SyncEvent] { events.withLock { $0 } }

  var keepAlives: Int {
    all.filter { if case .keptAlive = $0 { return true } else { return false } }.count
  }
}

/// A store in a temporary directory with logs citing files of an emulator.
struct KitWorld {
  let directory = TemporaryDirectory("kit")
  let emulator: ContainersEmulator
  let key = "sk-kit-test-0123456789"

  init(ttl: TimeInterval = 20 * 60, clock: (any WallClock)? = nil) throws {
    if let clock {
      emulator = ContainersEmulator(apiKey: key, ttl: ttl, clock: { clock.now() })
      try emulator.start()
    } else {
      emulator = try ContainersEmulator.started(apiKey: key, ttl: ttl)
    }
  }

  func store() throws -> ArtifactStore { try ArtifactStore(root: directory.file("store"), access: .create) }

  func api(baseURL: String? = nil) -> APISettings {
    APISettings(
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": baseURL ?? emulator.baseURL],
      userAgent: "artifacts-kit-tests")
  }

  /// A container holding `count` files, and a log line citing them; returns the container id.
  @discardableResult
  func cite(
    _ count: Int, first: Int = 1, missing: Set<Int> = [], log name: String = "logs/a.jsonl", at created: Date = Date()
  )
    -> String
  {
    let numbers = Array(first..<(first + count))
    let files = numbers.filter { !missing.contains($0) }.map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/f\($0).csv", bytes: Array("file \($0)\n".utf8))
    }
    let container = emulator.addContainer(files: files)
    let line = responseLine(
      id: FakeID.response(first), container: container, files: numbers.map { (FakeID.file($0), "f\($0).csv") },
      createdAt: Int(created.timeIntervalSince1970))
    let path = directory.file(name)
    try? FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    if let handle = FileHandle(forWritingAtPath: path) {
      handle.seekToEndOfFile()
      handle.write(Data((line + "\n").utf8))
      handle.closeFile()
    } else {
      _ = FileManager.default.createFile(atPath: path, contents: Data((line + "\n").utf8))
    }
    return container
  }

  /// Content requests the emulator served for files (not status or listing calls).
  var downloads: [String] {
    emulator.requestLog.filter { $0.path.hasSuffix("/content") }.map(\.path)
  }
}
