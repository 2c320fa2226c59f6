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
    #expect(try FileManager.default.contentsOfDirectory(atPath: store.temporaryDirectory).isEmpty)
  }

  @Test func ingestOfAnExistingDigestDropsTheTemporaryFile() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let outcome = try store.ingest(bytes: [1, 2, 3])
    let temporary = store.makeTemporaryPath()
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

  @Test func staleTemporaryFilesAreRemoved() throws {
    let directory = TemporaryDirectory()
    let store = try BlobStore(root: directory.file("store"))
    let stale = store.makeTemporaryPath()
    let fresh = store.makeTemporaryPath()
    _ = FileManager.default.createFile(atPath: stale, contents: Data([1]))
    _ = FileManager.default.createFile(atPath: fresh, contents: Data([2]))
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -3 * 86400)], ofItemAtPath: stale)
    #expect(store.removeStaleTemporaryFiles() == 1)
    #expect(!FileManager.default.fileExists(atPath: stale))
    #expect(FileManager.default.fileExists(atPath: fresh))
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
    #expect(try FileManager.default.contentsOfDirectory(atPath: store.temporaryDirectory).isEmpty)
  }
}
