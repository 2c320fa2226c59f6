import ArtifactsCore
import Foundation
import Testing

@testable import ArtifactsKit

@Suite(.timeLimit(.minutes(2)))
struct WorkSchedulerTests {
  let start = Date(timeIntervalSince1970: 1_800_000_000)

  func item(_ row: Int64, _ container: String, deadline: Double?) -> WorkItem {
    WorkItem(
      rowID: row, file: ContainerFileRef(containerID: container, fileID: "cfile_\(row)"), filename: "f\(row)",
      deadline: deadline.map { start.addingTimeInterval($0) })
  }

  @Test func filesGoOutEarliestDeadlineFirstOnceTheirContainerIsProbed() async {
    let scheduler = WorkScheduler()
    let probed = await scheduler.unprobed(["late", "soon", "undated"])
    #expect(probed == ["late", "soon", "undated"])
    await scheduler.add([
      item(1, "late", deadline: 900), item(2, "undated", deadline: nil), item(3, "soon", deadline: 60),
      item(4, "late", deadline: 900),
    ])
    // Nothing is handed out for a container whose probe has not answered.
    await scheduler.markProbed("late")
    await scheduler.markProbed("undated")
    #expect(await scheduler.next()?.rowID == 1)
    await scheduler.markProbed("soon")
    #expect(await scheduler.next()?.rowID == 3)
    #expect(await scheduler.next()?.rowID == 4)
    #expect(await scheduler.next()?.rowID == 2)  // undated last
    await scheduler.closeFeed()
    #expect(await scheduler.next() == nil)
  }

  @Test func aProbeMovesAContainerInTheOrder() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a", "b"])
    await scheduler.add([item(1, "a", deadline: 100), item(2, "b", deadline: 200)])
    // The server says b expires sooner than its logs suggested.
    await scheduler.update("b", deadline: start.addingTimeInterval(10), lifetime: 1200)
    await scheduler.markProbed("a")
    await scheduler.markProbed("b")
    #expect(await scheduler.next()?.rowID == 2)
  }

  @Test func workAlreadyQueuedOrInFlightIsNotAddedTwice() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    #expect(await scheduler.add([item(1, "a", deadline: 10), item(2, "a", deadline: 10)]) == 2)
    await scheduler.markProbed("a")
    let first = await scheduler.next()
    // A rescan finds both again: the one in flight and the one queued are both known.
    #expect(await scheduler.add([item(1, "a", deadline: 10), item(2, "a", deadline: 10)]) == 0)
    await scheduler.finished(first!)
    #expect(await scheduler.queuedCount == 1)
  }

  @Test func aGoneContainerGivesBackItsWaitingFilesAndRefusesMore() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    await scheduler.add([item(1, "a", deadline: 10), item(2, "a", deadline: 10)])
    let waiting = await scheduler.markGone("a")
    #expect(waiting.map(\.rowID) == [1, 2])
    #expect(await scheduler.add([item(3, "a", deadline: 10)]) == 0)
    #expect(await scheduler.queuedCount == 0)
    await scheduler.closeFeed()
    #expect(await scheduler.next() == nil)
  }

  @Test func nextWaitsForAProbeAndForPlanningBeforeSayingDone() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    await scheduler.holdFeed()
    await scheduler.closeFeed()
    let waiter = Task { await scheduler.next() }
    await scheduler.add([item(1, "a", deadline: 10)])
    await scheduler.markProbed("a")
    #expect(await waiter.value?.rowID == 1)
    // Planning (listing) is still under way: more may come, so the next call waits.
    let second = Task { await scheduler.next() }
    await scheduler.add([item(2, "a", deadline: 10)])
    #expect(await second.value?.rowID == 2)
    let third = Task { await scheduler.next() }
    await scheduler.releaseFeed()
    #expect(await third.value == nil)
  }

  @Test func stoppingHandsOutNothingMore() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    await scheduler.add([item(1, "a", deadline: 10)])
    await scheduler.markProbed("a")
    await scheduler.stop()
    #expect(await scheduler.next() == nil)
  }

  @Test func aContainerIsForgottenOnceNothingOfItWaits() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    await scheduler.add([item(1, "a", deadline: 10)])
    await scheduler.markProbed("a")
    let first = await scheduler.next()!
    await scheduler.finished(first)
    // Memory does not grow with every container a long-lived pipeline has seen.
    #expect(await scheduler.waiting().isEmpty)
    #expect(await scheduler.unprobed(["a"]) == ["a"])
  }

  /// The cited file finishes before listing has found the container's other files: they are
  /// handed out (the container was probed), not left waiting for a probe nobody asks for.
  @Test func filesListedAfterTheLastCitedOneFinishedStillGoOut() async {
    let scheduler = WorkScheduler()
    _ = await scheduler.unprobed(["a"])
    await scheduler.holdFeed()
    await scheduler.add([item(1, "a", deadline: 10)])
    await scheduler.markProbed("a")
    let first = await scheduler.next()!
    await scheduler.finished(first)
    await scheduler.add([item(2, "a", deadline: 10)])
    await scheduler.closeFeed()
    let second = Task { await scheduler.next() }
    #expect(await second.value?.rowID == 2)
    await scheduler.finished(item(2, "a", deadline: 10))
    await scheduler.releaseFeed()
    #expect(await scheduler.next() == nil)
    // Once planning is over, the drained container is forgotten all the same.
    #expect(await scheduler.unprobed(["a"]) == ["a"])
  }

  /// A watcher feeds the same container again and again: a fresh answer is not asked again,
  /// one with a third of the lifetime or less left is, and an expired one is forgotten.
  @Test func aFreshProbeAnswerIsRemembered() async {
    let scheduler = WorkScheduler()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    #expect(await scheduler.unprobed(["a"], now: now) == ["a"])
    await scheduler.update("a", deadline: now.addingTimeInterval(1200), lifetime: 1200)
    await scheduler.markProbed("a")
    await scheduler.add([item(1, "a", deadline: nil)])
    await scheduler.finished(await scheduler.next()!)
    // Ten minutes later: fed again, handed out at once without a probe, with the known deadline.
    let later = now.addingTimeInterval(600)
    #expect(await scheduler.unprobed(["a"], now: later).isEmpty)
    await scheduler.add([item(2, "a", deadline: nil)])
    #expect(await scheduler.waiting().first?.deadline == now.addingTimeInterval(1200))
    await scheduler.finished(await scheduler.next()!)
    // With less than a third left it is asked again; past its deadline it is forgotten.
    #expect(await scheduler.unprobed(["a"], now: now.addingTimeInterval(900)) == ["a"])
    await scheduler.markProbed("a")
    let drained = await scheduler.unprobed(["b"], now: now.addingTimeInterval(1300))
    #expect(drained == ["b"])
  }
}

@Suite(.timeLimit(.minutes(2)))
struct KeepAlivePolicyTests {
  let now = Date(timeIntervalSince1970: 1_800_000_000)

  func container(_ secondsLeft: Double, lifetime: Double = 1200) -> WaitingContainer {
    WaitingContainer(id: "c\(secondsLeft)", deadline: now.addingTimeInterval(secondsLeft), lifetime: lifetime, files: 1)
  }

  @Test func atRiskMeansLessThanAThirdOfTheLifetimeLeft() {
    #expect(!KeepAlivePolicy.isAtRisk(container(401), now: now))
    #expect(KeepAlivePolicy.isAtRisk(container(399), now: now))
    #expect(KeepAlivePolicy.isAtRisk(container(-5), now: now))
  }

  @Test func everyContainerNearItsDeadlineIsRefreshedAtOnce() {
    let due = KeepAlivePolicy.due(
      [container(1000), container(300), container(10), container(0.5, lifetime: 1.2)], now: now)
    #expect(due.map(\.id).sorted() == ["c0.5", "c10.0", "c300.0"])
  }

  @Test func theTickFollowsTheShortestLifetime() {
    #expect(KeepAlivePolicy.tick(shortestLifetime: 1200) == 10)
    #expect(KeepAlivePolicy.tick(shortestLifetime: 12) == 1)
    #expect(KeepAlivePolicy.tick(shortestLifetime: 0.5) == 0.1)
    #expect(KeepAlivePolicy.tick(shortestLifetime: nil) == 10)
  }
}
