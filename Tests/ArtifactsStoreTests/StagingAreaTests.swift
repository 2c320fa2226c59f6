import ArtifactsCore
import ArtifactsStore
import ArtifactsTestSupport
import Foundation
import Testing

struct StagingAreaTests {
  @Test func onlyAbandonedTemporaryAreasAreRemoved() throws {
    let directory = TemporaryDirectory()
    let root = directory.file("store")
    // A run that is still alive: its area is locked and must be left alone.
    let alive = StagingArea(directory: root + "/tmp")
    let working = try alive.makeTemporaryPath()
    _ = FileManager.default.createFile(atPath: working, contents: Data([1]))
    // A run that died: its area has a lock file nobody holds, and a partial file.
    let dead = root + "/tmp/dead-run"
    try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dead + "/owner.lock", contents: nil)
    _ = FileManager.default.createFile(atPath: dead + "/x.part", contents: Data([2]))
    let next = StagingArea(directory: root + "/tmp")
    // A folder a run has just made, before it could lock it, is left alone too.
    let starting = root + "/tmp/starting-run"
    try FileManager.default.createDirectory(atPath: starting, withIntermediateDirectories: true)
    #expect(next.removeAbandoned() == 1)
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(FileManager.default.fileExists(atPath: working))
    #expect(FileManager.default.fileExists(atPath: starting))
  }

  @Test func stagingWithAnExpectedDigestRefusesOtherBytes() throws {
    let directory = TemporaryDirectory()
    let staging = StagingArea(directory: directory.file("tmp"))
    let good = try staging.stage(bytes: [1, 2, 3])
    #expect(good.size == 3)
    #expect(throws: StoreError.self) {
      try staging.stage(expected: good.digest) { deliver in try [UInt8]([3, 2, 1]).withUnsafeBytes { try deliver($0) } }
    }
    #expect(partialFiles(in: staging.directory).count == 1)  // only the good one
  }

  @Test func aRunIsAliveWhileItHoldsItsAreaAndRunsOfOtherHostsArePresumedAlive() throws {
    let directory = TemporaryDirectory()
    let mine = StagingArea(directory: directory.file("tmp"))
    let other = StagingArea(directory: directory.file("tmp"))
    let id = mine.runID
    #expect(id.contains("/"))
    #expect(other.isRunAlive(id))
    let host = String(id.split(separator: "/")[0])
    #expect(!other.isRunAlive("\(host)/no-such-run"))
    #expect(other.isRunAlive("another-host.example/\(UUID().uuidString.lowercased())"))
  }
}

struct StoreLockTests {
  @Test func exclusiveLockWaitsForNoOneAndSharedLocksCoexist() throws {
    let directory = TemporaryDirectory()
    let path = directory.file("lock")
    let first = try StoreLock(path: path, exclusive: false, wait: false)
    let second = try StoreLock(path: path, exclusive: false, wait: false)
    #expect(throws: StoreError.self) { try StoreLock(path: path, exclusive: true, wait: false) }
    first.release()
    second.release()
    // Waiting: a child another test is spawning holds a copy of the descriptor until it execs.
    let exclusive = try StoreLock(path: path, exclusive: true, wait: true)
    #expect(throws: StoreError.self) { try StoreLock(path: path, exclusive: false, wait: false) }
    exclusive.release()
  }
}
