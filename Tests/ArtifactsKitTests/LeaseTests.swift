import ArtifactsCore
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

/// Claims are leases kept in the catalog: they lapse by themselves, so a run that died (here or
/// on another machine sharing the catalog) frees its files.
@Suite(.timeLimit(.minutes(2)))
struct LeaseTests {
  let start = Date(timeIntervalSince1970: 1_800_000_000)

  func pending() async throws -> (ArtifactStore, [WorkItem], KitWorld) {
    let world = try KitWorld()
    world.cite(2)
    let store = try world.store()
    _ = try await Sync(store: store, sink: RecordingSink(), api: world.api()).run(
      SyncOptions(paths: [world.directory.file("logs")], dryRun: true))
    return (store, try store.catalog.pendingWork(), world)
  }

  @Test func aLiveLeaseKeepsOthersOutUntilItLapses() async throws {
    let (store, work, world) = try await pending()
    defer { world.emulator.stop() }
    let item = work[0]
    let alive: (String) -> Bool = { _ in true }  // another machine: cannot be asked
    #expect(
      try store.catalog.claim(item, lease: Lease(owner: "a/1", now: start, duration: 60), isHeldByLiveOwner: alive))
    #expect(
      try !store.catalog.claim(
        item, lease: Lease(owner: "b/2", now: start + 59, duration: 60), isHeldByLiveOwner: alive))
    // Renewed while the transfer runs: still held past the first expiry.
    try store.catalog.renew([item], lease: Lease(owner: "a/1", now: start + 50, duration: 60))
    #expect(
      try !store.catalog.claim(
        item, lease: Lease(owner: "b/2", now: start + 100, duration: 60), isHeldByLiveOwner: alive))
    // Not renewed any more (its run died): free once the lease runs out.
    #expect(
      try store.catalog.claim(
        item, lease: Lease(owner: "b/2", now: start + 111, duration: 60), isHeldByLiveOwner: alive))
    // The holder may claim its own file again; the other file was never held.
    #expect(
      try store.catalog.claim(
        item, lease: Lease(owner: "b/2", now: start + 112, duration: 60), isHeldByLiveOwner: alive))
    #expect(
      try store.catalog.claim(work[1], lease: Lease(owner: "a/1", now: start, duration: 60), isHeldByLiveOwner: alive))
  }

  @Test func aRunOfThisMachineThatDiedFreesItsFilesAtOnce() async throws {
    let (store, work, world) = try await pending()
    defer { world.emulator.stop() }
    #expect(
      try store.catalog.claim(
        work[0], lease: Lease(owner: "here/dead", now: start, duration: 60), isHeldByLiveOwner: { _ in true }))
    #expect(
      try store.catalog.claim(
        work[0], lease: Lease(owner: "here/next", now: start + 1, duration: 60), isHeldByLiveOwner: { _ in false }))
  }

  @Test func aFileThatIsNoLongerWaitingCannotBeClaimed() async throws {
    let (store, work, world) = try await pending()
    defer { world.emulator.stop() }
    try store.catalog.markUnarchived(
      work[0], state: .lost, reason: UnarchivedReason(.fileNotFound, "gone"), attempts: 1)
    #expect(
      try !store.catalog.claim(
        work[0], lease: Lease(owner: "a/1", now: start, duration: 60), isHeldByLiveOwner: { _ in true }))
    // A failed file waits again for the next run.
    try store.catalog.markUnarchived(work[1], state: .failed, reason: UnarchivedReason(.gaveUp, "500s"), attempts: 1)
    #expect(
      try store.catalog.claim(
        work[1], lease: Lease(owner: "a/1", now: start, duration: 60), isHeldByLiveOwner: { _ in true }))
  }
}
