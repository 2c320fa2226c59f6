// `Sync.watch` against the emulator on real files: lines archived as they are written,
// rotations followed without reading twice or skipping, the polling fallback, and a stop
// that ends transfers within its grace period.
import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

@Suite(.serialized)
struct WatchTests {
  /// A watch running in the background on `world`'s logs.
  final class RunningWatch: Sendable {
    let stop = StopRequest()
    let task: Task<Result<SyncSummary, KitError>, Never>
    let sink: RecordingSink

    init(_ world: KitWorld, paths: [String], options: WatchOptions = WatchOptions(rescanInterval: 60)) throws {
      let store = try world.store()
      let sink = RecordingSink()
      let sync = Sync(store: store, sink: sink, api: world.api())
      let stop = self.stop
      self.sink = sink
      task = Task {
        do throws(KitError) {
          return .success(
            try await sync.watch(
              SyncOptions(paths: paths, pipeline: PipelineOptions(jobs: 4)), watch: options, stop: stop))
        } catch {
          return .failure(error)
        }
      }
    }

    func finish() async throws -> SyncSummary {
      stop.request()
      return try await task.value.get()
    }

    var isWatching: Bool { sink.all.contains { if case .watching = $0 { true } else { false } } }
  }

  func archived(_ world: KitWorld) throws -> Set<String> {
    let store = try ArtifactStore(root: world.directory.file("store"), access: .read)
    return Set(try store.catalog.find(FindQuery()).filter { $0.state == .archived }.map(\.fileID))
  }

  /// A line citing file `number` in a new container (nothing written).
  func citingLine(_ world: KitWorld, _ number: Int) -> String {
    let container = world.emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(number), path: "/mnt/data/f\(number).csv", bytes: Array("file \(number)\n".utf8))
    ])
    return responseLine(
      id: FakeID.response(number), container: container, files: [(FakeID.file(number), "f\(number).csv")],
      createdAt: Int(Date().timeIntervalSince1970))
  }

  @Test func followsLogsThroughRotations() async throws {
    let world = try KitWorld()
    world.cite(1, first: 1)  // there before the watch: the first pass takes it
    let logs = world.directory.file("logs")
    let watch = try RunningWatch(world, paths: [logs])
    #expect(await eventually(timeout: 90) { watch.isWatching })
    #expect(try await eventually(timeout: 90) { try archived(world).contains(FakeID.file(1)) })

    let log = logs + "/a.jsonl"
    // Appended.
    appendToFile(log, citingLine(world, 2) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).contains(FakeID.file(2)) })

    // Half a line waits for its newline.
    let third = citingLine(world, 3)
    let cut = third.index(third.startIndex, offsetBy: third.count / 2)
    appendToFile(log, String(third[..<cut]))
    try await Task.sleep(nanoseconds: 300_000_000)
    #expect(try !archived(world).contains(FakeID.file(3)))
    appendToFile(log, String(third[cut...]) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).contains(FakeID.file(3)) })

    // Rename + create: a line written just before the rename is read under the new name.
    appendToFile(log, citingLine(world, 4) + "\n")
    try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
    _ = FileManager.default.createFile(atPath: log, contents: Data((citingLine(world, 5) + "\n").utf8))
    #expect(try await eventually(timeout: 90) { try archived(world).isSuperset(of: [FakeID.file(4), FakeID.file(5)]) })

    // Copytruncate: copied aside, truncated to nothing, written again.
    appendToFile(log, citingLine(world, 6) + "\n")
    try FileManager.default.copyItem(atPath: log, toPath: log + ".2")
    let truncating = FileHandle(forWritingAtPath: log)!
    truncating.truncateFile(atOffset: 0)
    truncating.closeFile()
    appendToFile(log, citingLine(world, 7) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).isSuperset(of: [FakeID.file(6), FakeID.file(7)]) })

    // Truncate and rewrite in place, and a new subfolder.
    try Data((citingLine(world, 8) + "\n").utf8).write(to: URL(fileURLWithPath: log))
    world.directory.write("logs/2026/12/b.jsonl", citingLine(world, 9) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).isSuperset(of: [FakeID.file(8), FakeID.file(9)]) })

    // Deleted: its history stays.
    try FileManager.default.removeItem(atPath: log + ".2")
    appendToFile(log, citingLine(world, 10) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).contains(FakeID.file(10)) })

    let summary = try await watch.finish()
    #expect(summary.archived == 10)
    #expect(summary.lost == 0 && summary.failed == 0)
    #expect(try archived(world) == Set((1...10).map(FakeID.file)))
    // Each file downloaded once, whatever was read again.
    #expect(world.downloads.count == 10)
    #expect(Set(world.downloads).count == 10)
    // The rotated log's position moved with it: it was not read from its start again.
    let store = try ArtifactStore(root: world.directory.file("store"), access: .read)
    let rotated = try #require(try store.catalog.logCheckpoint(path: log + ".1"))
    #expect(rotated.linesConsumed == 4)
    let warnings = watch.sink.all.filter { if case .diagnostic = $0 { true } else { false } }
    #expect(warnings.isEmpty, "\(warnings)")
  }

  @Test func pollsFoldersItCannotWatch() async throws {
    let world = try KitWorld()
    world.cite(1, first: 1, log: "logs/a.jsonl")
    world.directory.write("logs/deep/b.jsonl", "")
    let watch = try RunningWatch(
      world, paths: [world.directory.file("logs")],
      options: WatchOptions(rescanInterval: 60, pollInterval: 0.1, maximumWatches: 1))
    #expect(await eventually(timeout: 90) { watch.isWatching })
    appendToFile(world.directory.file("logs/deep/b.jsonl"), citingLine(world, 2) + "\n")
    #expect(try await eventually(timeout: 90) { try archived(world).contains(FakeID.file(2)) })
    _ = try await watch.finish()
    let notices = watch.sink.all.compactMap { event -> Diagnostic? in
      if case .diagnostic(let diagnostic) = event { diagnostic } else { nil }
    }
    #expect(notices.count == 1)
    #expect(notices.first?.message.contains("polled") == true)
    #expect(
      watch.sink.all.contains { if case .watching(_, 1, 1) = $0 { true } else { false } })
  }

  @Test func aStopEndsTransfersWithinItsGrace() async throws {
    let world = try KitWorld()
    world.emulator.setLatency(30)
    world.cite(1, first: 1)
    let watch = try RunningWatch(
      world, paths: [world.directory.file("logs")], options: WatchOptions(rescanInterval: 60, stopGrace: 0.5))
    #expect(await eventually(timeout: 90) { watch.isWatching })
    try await Task.sleep(nanoseconds: 300_000_000)  // the probe is under way
    let started = Date()
    let summary = try await watch.finish()
    #expect(Date().timeIntervalSince(started) < 5)
    #expect(summary.archived == 0)
    // Nothing half-done: the file waits for the next run, with no partial file left behind.
    let store = try ArtifactStore(root: world.directory.file("store"), access: .read)
    #expect(try store.catalog.pendingWork().map(\.file.fileID) == [FakeID.file(1)])
    #expect(partialFiles(in: world.directory.file("store")).isEmpty)
  }

  @Test func aRefusedKeyEndsTheWatch() async throws {
    let world = try KitWorld()
    world.cite(1, first: 1)
    let store = try world.store()
    let sync = Sync(
      store: store, sink: RecordingSink(),
      api: APISettings(
        environment: ["OPENAI_API_KEY": "sk-wrong-0123456789", "OPENAI_BASE_URL": world.emulator.baseURL],
        userAgent: "test"))
    let started = Date()
    await #expect(throws: KitError.self) {
      _ = try await sync.watch(SyncOptions(paths: [world.directory.file("logs")]), stop: StopRequest())
    }
    #expect(Date().timeIntervalSince(started) < 5)
    #expect(try store.catalog.pendingWork().count == 1)
  }
}
