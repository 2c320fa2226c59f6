// The watcher on the real kernel: inotify events, new folders, renames, a queue that
// overflows, and the polling that takes over when no watch is left.
import ArtifactsLogScan
import ArtifactsTestSupport
import Foundation
import Testing

@Suite(.serialized)
struct LogWatcherTests {
  /// Changes taken until `condition` holds for what was gathered, or `timeout` passes.
  func gather(_ watcher: LogWatcher, timeout: Double = 5, until condition: (WatchChanges) -> Bool) async
    -> WatchChanges
  {
    var gathered = WatchChanges()
    let end = Date().addingTimeInterval(timeout)
    while !condition(gathered) && Date() < end {
      let next = await withTaskGroup(of: WatchChanges?.self) { group in
        group.addTask { await watcher.next() }
        group.addTask {
          try? await Task.sleep(nanoseconds: UInt64(max(0, end.timeIntervalSinceNow) * 1e9))
          return nil
        }
        let first = await group.next()!
        if first == nil { watcher.stop() }  // unblocks the other child
        group.cancelAll()
        return first
      }
      guard let next else { break }
      gathered.absorb(next)
    }
    return gathered
  }

  @Test func reportsWritesNewFoldersAndRenames() async throws {
    let directory = TemporaryDirectory("watch")
    let log = directory.write("logs/app.jsonl", "{}\n")
    let watcher = try LogWatcher(roots: [directory.file("logs")], options: LogWatcherOptions(rescanInterval: 60))
    watcher.start()
    defer { watcher.stop() }

    appendToFile(log, "{\"a\":1}\n")
    var changes = await gather(watcher) { $0.paths.contains(log) }
    #expect(changes.paths == [log])
    #expect(!changes.rescan)

    // A folder made after the watch started: its files are reported, and it is watched.
    let nested = directory.write("logs/2026/12/new.jsonl", "{}\n")
    changes = await gather(watcher) { $0.paths.contains(nested) }
    #expect(changes.paths.contains(nested))
    appendToFile(nested, "{\"b\":2}\n")
    changes = await gather(watcher) { $0.paths.contains(nested) }
    #expect(changes.paths == [nested])

    // Rotation by rename: both names, and the pair.
    try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
    changes = await gather(watcher) { !$0.renames.isEmpty }
    #expect(changes.renames.map { [$0.from, $0.to] } == [[log, log + ".1"]])

    // Hidden files are not logs.
    directory.write("logs/.partial.swp", "x")
    let visible = directory.write("logs/after.jsonl", "{}\n")
    changes = await gather(watcher) { $0.paths.contains(visible) }
    #expect(!changes.paths.contains(directory.file("logs/.partial.swp")))
  }

  @Test func aFileRootIsWatchedThroughItsFolder() async throws {
    let directory = TemporaryDirectory("watch")
    let log = directory.write("app.jsonl", "{}\n")
    let other = directory.write("other.jsonl", "{}\n")
    let watcher = try LogWatcher(roots: [log], options: LogWatcherOptions(rescanInterval: 60))
    watcher.start()
    defer { watcher.stop() }
    appendToFile(other, "{}\n")
    // Replaced by a new file of the same name (rename + create): still followed.
    try FileManager.default.removeItem(atPath: log)
    directory.write("app.jsonl", "{\"new\":1}\n")
    var changes = await gather(watcher) { $0.paths.contains(log) }
    #expect(changes.paths == [log])
    // Rotated: followed to its new name, so its last lines are read there.
    try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
    changes = await gather(watcher) { !$0.renames.isEmpty }
    #expect(changes.renames.map { [$0.from, $0.to] } == [[log, log + ".1"]])
  }

  @Test func rescansOnItsTick() async throws {
    let directory = TemporaryDirectory("watch")
    directory.write("logs/app.jsonl", "{}\n")
    let watcher = try LogWatcher(roots: [directory.file("logs")], options: LogWatcherOptions(rescanInterval: 0.2))
    watcher.start()
    defer { watcher.stop() }
    let changes = await gather(watcher) { $0.rescan }
    #expect(changes.rescan)
  }

  /// More events than the kernel queues (16,384 by default) while nobody reads: one
  /// IN_Q_OVERFLOW, a rescan, and a warning that says what happened.
  @Test func anOverflowedQueueMeansARescan() async throws {
    let directory = TemporaryDirectory("watch")
    let folder = directory.file("logs")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let watcher = try LogWatcher(roots: [folder], options: LogWatcherOptions(rescanInterval: 60))
    let limit =
      (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
      .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 16384
    // Each new file is two events (created, closed after writing).
    for number in 0..<(limit / 2 + 500) {
      let descriptor = open(folder + "/f\(number).jsonl", O_CREAT | O_WRONLY, 0o644)
      close(descriptor)
    }
    watcher.start()
    defer { watcher.stop() }
    let changes = await gather(watcher) { $0.rescan }
    #expect(changes.rescan)
    #expect(changes.notices.contains { $0.message.contains("overflowed") && $0.file == folder })
  }

  /// With no watch left, folders are polled: said once, naming the first folder polled, and
  /// their files are still reported.
  @Test func pollsWhatItCannotWatch() async throws {
    let directory = TemporaryDirectory("watch")
    directory.write("logs/app.jsonl", "{}\n")
    let deep = directory.write("logs/b/deep.jsonl", "{}\n")
    directory.write("logs/c/other.jsonl", "{}\n")
    let watcher = try LogWatcher(
      roots: [directory.file("logs")],
      options: LogWatcherOptions(rescanInterval: 60, pollInterval: 0.1, maximumWatches: 1))
    #expect(watcher.counts == (watched: 1, polled: 2))
    watcher.start()
    defer { watcher.stop() }
    var changes = await gather(watcher) { !$0.notices.isEmpty }
    #expect(changes.notices.count == 1)
    #expect(changes.notices.first?.message.contains("max_user_watches") == true)
    #expect(changes.notices.first?.file == directory.file("logs/b"))
    appendToFile(deep, "{\"x\":1}\n")
    changes = await gather(watcher) { $0.paths.contains(deep) }
    #expect(changes.paths.contains(deep))
    // A folder made below a polled one is found by the poll.
    let later = directory.write("logs/b/new/later.jsonl", "{}\n")
    changes = await gather(watcher) { $0.paths.contains(later) }
    #expect(changes.paths.contains(later))
  }
}
