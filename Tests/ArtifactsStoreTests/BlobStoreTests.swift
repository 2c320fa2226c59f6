import ArtifactsCore
import ArtifactsStore
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct BlobStoreTests {
  @Test func ingestNamesBlobsByDigestAndDeduplicates() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let bytes = Array("a,b\n1,2\n".utf8)
    let first = try store.ingest(bytes: bytes)
    let second = try store.ingest(bytes: bytes)
    let expected = Digest(bytes: SHA256.hash(data: bytes))
    #expect(first.digest == expected && first.stored)
    #expect(second.digest == expected && !second.stored)
    #expect(first.path == "\(store.root)/blobs/sha256/\(expected.hex.prefix(2))/\(expected.hex)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: first.path)) == Data(bytes))
    #expect(try store.verify(expected))
    // Read-only blob, private store, nothing left in tmp/.
    let attributes = try FileManager.default.attributesOfItem(atPath: first.path)
    #expect((attributes[.posixPermissions] as? Int) == 0o444)
    let rootAttributes = try FileManager.default.attributesOfItem(atPath: store.root)
    #expect((rootAttributes[.posixPermissions] as? Int) == 0o700)
    #expect(partialFiles(in: store.temporaryDirectory).isEmpty)
  }

  @Test func ingestOfAnExistingDigestDropsTheTemporaryFile() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let outcome = try store.ingest(bytes: [1, 2, 3])
    let temporary = try store.makeTemporaryPath()
    _ = FileManager.default.createFile(atPath: temporary, contents: Data([1, 2, 3]))
    let again = try store.ingest(temporaryPath: temporary, digest: outcome.digest, size: 3)
    #expect(!again.stored)
    #expect(!FileManager.default.fileExists(atPath: temporary))
  }

  @Test func verifyDetectsAFlippedBit() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let outcome = try store.ingest(bytes: Array(repeating: 7, count: 4096))
    chmod(outcome.path, 0o644)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: outcome.path))
    bytes[100] ^= 1
    try bytes.write(to: URL(fileURLWithPath: outcome.path))
    #expect(try store.verify(outcome.digest) == false)
  }

  @Test func onlyAbandonedTemporaryAreasAreRemoved() throws {
    let directory = TemporaryDirectory()
    let root = directory.file("store")
    // A run that is still alive: its area is locked and must be left alone.
    let alive = try BlobStore(root: root)
    let working = try alive.makeTemporaryPath()
    _ = FileManager.default.createFile(atPath: working, contents: Data([1]))
    // A run that died: its area has a lock file nobody holds, and a partial file.
    let dead = root + "/tmp/dead-run"
    try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dead + "/owner.lock", contents: nil)
    _ = FileManager.default.createFile(atPath: dead + "/x.part", contents: Data([2]))
    let next = try BlobStore(root: root)
    // A folder a run has just made, before it could lock it, is left alone too.
    let starting = root + "/tmp/starting-run"
    try FileManager.default.createDirectory(atPath: starting, withIntermediateDirectories: true)
    #expect(next.removeAbandonedTemporaryFiles() == 1)
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(FileManager.default.fileExists(atPath: working))
    #expect(FileManager.default.fileExists(atPath: starting))
  }

  @Test func exclusiveLockWaitsForNoOneAndSharedLocksCoexist() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let first = try store.lock(exclusive: false, wait: false)
    let second = try store.lock(exclusive: false, wait: false)
    #expect(throws: StoreError.self) { try store.lock(exclusive: true, wait: false) }
    first.release()
    second.release()
    let exclusive = try store.lock(exclusive: true, wait: false)
    #expect(throws: StoreError.self) { try store.lock(exclusive: false, wait: false) }
    exclusive.release()
  }

  @Test func unusableRootIsAClearError() {
    #expect {
      try BlobStore(root: "/proc/artifacts-cannot-be-here")
    } throws: { error in
      (error as? StoreError)?.description.contains("/proc/artifacts-cannot-be-here") == true
    }
  }
}

struct ConcurrentIngestTests {
  @Test func identicalBytesIngestedAtOnceAreStoredExactlyOnce() async throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let bytes = Array(repeating: UInt8(9), count: 100_000)
    let results = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<16 { group.addTask { (try? store.ingest(bytes: bytes))?.stored ?? false } }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(results.filter { $0 }.count == 1)
    #expect(partialFiles(in: store.temporaryDirectory).isEmpty)
  }
}
