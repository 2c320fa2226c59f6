import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Synchronization
import Testing

@testable import ArtifactsKit

@Suite(.timeLimit(.minutes(2)))
struct PipelineTests {
  func sync(_ world: KitWorld, _ store: ArtifactStore, baseURL: String? = nil, keepAlive: Bool = true) async throws
    -> SyncSummary
  {
    try await Sync(store: store, sink: RecordingSink(), api: world.api(baseURL: baseURL)).run(
      SyncOptions(paths: [world.directory.file("logs")], pipeline: PipelineOptions(jobs: 4, keepAlive: keepAlive)))
  }

  @Test func onlyTheServersWordLosesAFile() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    world.cite(3, missing: [2])
    let expired = world.cite(2, first: 10)
    world.emulator.expire(containerID: expired)
    let store = try world.store()
    let summary = try await sync(world, store)
    #expect(summary.archived == 2)
    #expect(summary.lost == 3)
    let reasons = Dictionary(uniqueKeysWithValues: summary.unarchived.map { ($0.fileID, $0.reasonKind) })
    #expect(reasons[FakeID.file(2)] == .fileNotFound)
    #expect(reasons[FakeID.file(10)] == .containerExpired && reasons[FakeID.file(11)] == .containerExpired)
    // The expired container cost one request, not one per file.
    #expect(world.downloads.filter { $0.contains(expired) }.isEmpty)
  }

  @Test func aLogLongerThanASegmentAndAQueueLongerThanAPageAreAllArchived() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    // Four lines of 700 citations: the first three are recorded as one segment, the last
    // after; 2,800 files are two pages of the queue.
    for line in 0..<4 { world.cite(700, first: 1 + line * 700) }
    let store = try world.store()
    let sink = RecordingSink()
    let summary = try await Sync(store: store, sink: sink, api: world.api()).run(
      SyncOptions(paths: [world.directory.file("logs")], pipeline: PipelineOptions(jobs: 8)))
    #expect(summary.citationsFound == 2800 && summary.filesCited == 2800 && summary.newCitations == 2800)
    #expect(summary.archived == 2800 && summary.pending == 0)
    #expect(Set(world.downloads).count == 2800 && world.downloads.count == 2800)
    // Progress counts against the whole queue from the first page.
    #expect(sink.all.compactMap { if case .downloadPlanned(let files) = $0 { files } else { nil } } == [2800])
    let again = try await sync(world, store)
    #expect(again.logsUnchanged == 1 && again.archived == 0 && again.alreadyArchived == 0)
  }

  @Test func aBaseURLTheAPIDoesNotServeStopsTheRunAndLosesNothing() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    world.cite(3)
    let store = try world.store()
    // Missing /v1: every call gets 404 "Invalid URL", which says nothing about any file.
    await #expect {
      _ = try await sync(world, store, baseURL: "http://127.0.0.1:\(world.emulator.port)")
    } throws: { error in
      guard let error = error as? KitError else { return false }
      return error.code == .configuration && error.message.contains("OPENAI_BASE_URL")
    }
    let states = try store.catalog.find(FindQuery(states: Set(FileState.allCases))).map(\.state)
    #expect(states == [.pending, .pending, .pending])
    let right = try await sync(world, store)
    #expect(right.archived == 3 && right.lost == 0 && right.failed == 0)
  }

  /// A key revoked mid-run, with more of the queue than a page waiting: the feeder waiting
  /// for room (that only the stopped workers could make) stops with the run.
  @Test func aKeyRevokedMidRunStopsItWhileMorePagesWait() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    for line in 0..<5 { world.cite(1000, first: 1 + line * 1000) }
    let served = Mutex(0)
    world.emulator.setFaultInjector { request in
      guard request.path.hasSuffix("/content") else { return nil }
      return served.withLock { count in
        count += 1
        return count > 100 ? .status(401) : nil
      }
    }
    let store = try world.store()
    await #expect {
      _ = try await sync(world, store)
    } throws: { error in (error as? KitError)?.code == .credentialsRejected }
    #expect(try store.catalog.pendingCount() >= 4800)
  }

  @Test func aRunThatIsFedKeepsNoPerFileListOfWhatWentWell() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    world.cite(40)
    let store = try world.store()
    let summary = try await sync(world, store)
    #expect(summary.archived == 40)
    #expect(summary.unarchived.isEmpty)
    #expect(Set(world.downloads).count == 40 && world.downloads.count == 40)
  }

  /// Keep-alive on a clock the test moves: no refresh while the container has more than a third
  /// of its life left, then one before it would expire, and the container never expires while
  /// its files wait. Without keep-alive, it expires on time.
  @Test(arguments: [true, false])
  func keepAliveRefreshesAContainerBeforeItsDeadline(keepAlive: Bool) async throws {
    let clock = ManualClock()
    let world = try KitWorld(ttl: 60, clock: clock)
    defer { world.emulator.stop() }
    let container = world.cite(2, at: clock.now())
    let store = try world.store()
    let sink = RecordingSink()
    _ = try await Sync(store: store, sink: sink, api: world.api()).run(
      SyncOptions(paths: [world.directory.file("logs")], dryRun: true))
    let work = try store.catalog.pendingWork()
    let pipeline = try Pipeline(
      store: store, sink: sink, options: PipelineOptions(jobs: 2, keepAlive: keepAlive),
      configuration: try world.api().configuration(), clock: clock)
    pipeline.start(workers: 0)  // files wait: nothing downloads them
    await pipeline.feed(work, containers: [container])
    let statusCalls = { world.emulator.requestLog.filter { $0.path == "/v1/containers/\(container)" }.count }
    #expect(await eventually { statusCalls() == 1 })  // the probe
    // Keep-alive looks again a twelfth of the lifetime later; nothing is due before 40 s.
    for _ in 0..<7 {
      #expect(await eventually { clock.sleepers > (keepAlive ? 1 : 0) })
      clock.advance(by: 5)
    }
    try await Task.sleep(nanoseconds: 50_000_000)
    #expect(statusCalls() == 1, "refreshed before the last third of its life")
    for _ in 0..<30 {
      _ = await eventually { clock.sleepers > (keepAlive ? 1 : 0) }
      clock.advance(by: 5)
    }
    // The last refresh lands before keep-alive sleeps again.
    _ = await eventually { clock.sleepers > (keepAlive ? 1 : 0) }
    if keepAlive {
      #expect(statusCalls() >= 4)
      #expect(sink.keepAlives >= 3)
    } else {
      #expect(statusCalls() == 1)
    }
    // 185 s after the probe: alive only if it was kept alive.
    let listing = try run(
      URL(fileURLWithPath: "/usr/bin/curl"),
      [
        "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(world.key)",
        "\(world.emulator.baseURL)/containers/\(container)",
      ])
    #expect(listing.stdout == (keepAlive ? "200" : "400"))
  }
}
