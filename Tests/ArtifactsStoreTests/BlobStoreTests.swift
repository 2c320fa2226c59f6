import ArtifactsCore
import ArtifactsStore
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

typealias Digest = ArtifactsCore.Digest

/// A local store as a sync uses one: bytes staged, then put.
struct LocalStore {
  let blobs: LocalBlobStore
  let staging: StagingArea

  init(_ root: String) throws {
    blobs = try LocalBlobStore(root: root)
    staging = StagingArea(directory: root + "/tmp")
  }

  func ingest(_ bytes: [UInt8]) throws -> (digest: Digest, stored: Bool) {
    let staged = try staging.stage(bytes: bytes)
    return (staged.digest, try blobs.put(stagedPath: staged.path, digest: staged.digest, size: staged.size).stored)
  }
}

struct BlobStoreTests {
  @Test func putNamesBlobsByDigestAndDeduplicates() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let bytes = Array("a,b\n1,2\n".utf8)
    let first = try store.ingest(bytes)
    let second = try store.ingest(bytes)
    let expected = Digest(bytes: SHA256.hash(data: bytes))
    #expect(first.digest == expected && first.stored)
    #expect(second.digest == expected && !second.stored)
    let path = store.blobs.path(for: expected)
    #expect(path == "\(store.blobs.root)/blobs/sha256/\(expected.hex.prefix(2))/\(expected.hex)")
    #expect(store.blobs.location(of: expected) == .path(path))
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes))
    #expect(try store.blobs.verify(expected))
    // Read-only blob, private store, nothing left in tmp/.
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[FileAttributeKey.posixPermissions] as? Int) == 0o444)
    let rootAttributes = try FileManager.default.attributesOfItem(atPath: store.blobs.root)
    #expect((rootAttributes[FileAttributeKey.posixPermissions] as? Int) == 0o700)
    #expect(partialFiles(in: store.staging.directory).isEmpty)
  }

  @Test func digestsAreReadInEitherCaseAndKeptInLowerCase() {
    let lower = String(repeating: "0a1b2c3d4e5f6789", count: 4)
    #expect(Digest(hex: lower)?.hex == lower)
    #expect(Digest(hex: lower.uppercased())?.hex == lower)
    #expect(Digest(hex: "F" + lower.dropFirst())?.hex == "f" + lower.dropFirst())
    for wrong in [
      "", String(lower.dropLast()), lower + "0", "g" + lower.dropFirst(), "@" + lower.dropFirst(),
      "`" + lower.dropFirst(), "G" + lower.dropFirst(), "é" + lower.dropFirst(2),
    ] {
      #expect(Digest(hex: wrong) == nil, "\(wrong)")
    }
  }

  @Test func putOfAnExistingDigestDropsTheStagedFile() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let outcome = try store.ingest([1, 2, 3])
    let temporary = try store.staging.makeTemporaryPath()
    _ = FileManager.default.createFile(atPath: temporary, contents: Data([1, 2, 3]))
    let again = try store.blobs.put(stagedPath: temporary, digest: outcome.digest, size: 3)
    #expect(!again.stored)
    #expect(!FileManager.default.fileExists(atPath: temporary))
  }

  @Test func verifyDetectsAFlippedBit() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let outcome = try store.ingest(Array(repeating: 7, count: 4096))
    let path = store.blobs.path(for: outcome.digest)
    chmod(path, 0o644)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[100] ^= 1
    try bytes.write(to: URL(fileURLWithPath: path))
    #expect(try store.blobs.verify(outcome.digest) == false)
  }

  @Test func listFindsBlobsAndStrays() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let outcome = try store.ingest([4, 5, 6])
    let stray = store.blobs.blobsDirectory + "/zz"
    try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: stray + "/not-a-digest", contents: Data([1]))
    let listed = store.blobs.list()
    #expect(listed.compactMap(\.digest) == [outcome.digest])
    #expect(listed.filter { $0.digest == nil }.map(\.name) == [stray + "/not-a-digest"])
    try store.blobs.remove(try #require(listed.first { $0.digest == nil }))
    #expect(store.blobs.list().count == 1)
  }

  @Test func quarantineMovesDamagedBytesAside() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let outcome = try store.ingest([9, 9, 9])
    try store.blobs.quarantine(outcome.digest)
    #expect(!store.blobs.contains(outcome.digest))
    let kept = try FileManager.default.contentsOfDirectory(atPath: store.blobs.damagedDirectory)
    #expect(kept.count == 1 && kept[0].hasPrefix(outcome.digest.hex))
  }

  @Test func unusableRootIsAClearError() {
    #expect {
      try LocalBlobStore(root: "/proc/artifacts-cannot-be-here")
    } throws: { error in
      (error as? StoreError)?.description.contains("/proc/artifacts-cannot-be-here") == true
    }
  }
}

struct ConcurrentIngestTests {
  @Test func identicalBytesIngestedAtOnceAreStoredExactlyOnce() async throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let bytes = Array(repeating: UInt8(9), count: 100_000)
    let results = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<16 { group.addTask { (try? store.ingest(bytes))?.stored ?? false } }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(results.filter { $0 }.count == 1)
    #expect(partialFiles(in: store.staging.directory).isEmpty)
  }

  /// A batch moves each staged file into place without ever replacing a blob: the same bytes
  /// twice in one batch, or bytes already stored, are duplicates, and nothing stays in tmp/.
  @Test func aBatchStoresEachContentOnceAndNeverReplacesABlob() throws {
    let directory = TemporaryDirectory()
    let store = try LocalStore(directory.file("store"))
    let existing = try store.ingest(Array("already here".utf8)).digest
    func inode(_ path: String) -> UInt64? {
      var status = stat()
      return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
    }
    let existingInode = try #require(inode(store.blobs.path(for: existing)))
    func staged(_ text: String) throws -> StagedBlob {
      let file = try store.staging.stage(bytes: Array(text.utf8))
      return StagedBlob(path: file.path, digest: file.digest, size: file.size)
    }
    let batch = try [staged("fresh"), staged("twice"), staged("twice"), staged("already here")]
    let outcomes = try store.blobs.putAll(batch)
    #expect(outcomes.map(\.stored) == [true, true, false, false])
    #expect(partialFiles(in: store.staging.directory).isEmpty)
    for file in batch {
      let path = store.blobs.path(for: file.digest)
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == Int(file.size))
      #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o444)
    }
    #expect(inode(store.blobs.path(for: existing)) == existingInode, "the blob already there was replaced")
    #expect(try store.blobs.putAll([]) == [])
  }
}
