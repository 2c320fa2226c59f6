import ArtifactsCore
import ArtifactsFetch
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

struct ObjectStoreTests {
  /// An object store that goes away for good after the store was opened: the run stops with
  /// the store's own words, no file is lost or failed, and the next run completes.
  @Test func anObjectStoreDownForGoodStopsTheRunAndLosesNothing() async throws {
    let server = try TestSeaweed(in: TemporaryDirectory("seaweed").path)
    defer { server.stop() }
    let bucket = try server.makeBucket()
    let world = try KitWorld()
    let container = world.cite(8)
    let settings = BlobSettings(
      location: .objectStore("s3://\(bucket)/kit"), environment: server.environment(), jobs: 4,
      retryPolicy: RetryPolicy(maximumAttempts: 3, baseDelay: 0.05, maximumDelay: 0.1))
    let root = world.directory.file("store")
    let files = Set((1...8).map { ContainerFileRef(containerID: container, fileID: FakeID.file($0)) })
    // The first run's store goes with it (a run's claims are freed when it is gone).
    do {
      let store = try ArtifactStore(root: root, access: .create, blobs: settings)
      server.stop()
      do {
        _ = try await Sync(store: store, sink: RecordingSink(), api: world.api()).run(
          SyncOptions(paths: [world.directory.file("logs")]))
        Issue.record("a sync with its object store down succeeded")
      } catch {
        #expect(error.code == .unusableStore, "\(error)")
        #expect(error.message.contains("s3://\(bucket)/kit/blobs/sha256/"), "\(error)")
      }
      let states = try store.catalog.states(of: files)
      #expect(states.count == 8)
      #expect(states.values.allSatisfy { $0 == .pending }, "\(states)")
    }

    try server.start()
    let again = try ArtifactStore(root: root, access: .create, blobs: settings)
    let summary = try await Sync(store: again, sink: RecordingSink(), api: world.api()).run(
      SyncOptions(paths: [world.directory.file("logs")]))
    #expect(summary.archived == 8)
    #expect(try server.keys(bucket, prefix: "kit/blobs/").count == 8)
  }
}
