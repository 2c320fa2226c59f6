// The local content-addressed blob store. A blob's only name is its SHA-256; names from logs
// never reach the file system. Bytes are staged in `tmp/` (see StagingArea) and become a blob
// by an atomic move that never replaces, after they are on disk, so a crash leaves either a
// staged file (removed at the next start) or a whole blob, never a partial one under a final
// name.
import ArtifactsCore
import Crypto
import Foundation

#if os(Linux)
  import CGNUExtensions
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public struct StoreError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case cannotCreate, ioFailure, missingBlob, digestMismatch, busy }

  public var code: Code
  public var path: String
  public var detail: String

  public init(_ code: Code, path: String, detail: String) {
    self.code = code
    self.path = path
    self.detail = detail
  }

  static func system(_ code: Code, _ operation: String, path: String, errno: Int32 = errno) -> StoreError {
    StoreError(code, path: path, detail: "\(operation) failed: \(String(cString: strerror(errno)))")
  }

  public var description: String { "\(path): \(detail)" }
}

/// `blobs/sha256/ab/abcdef…` under a store directory, one read-only file per distinct content.
public struct LocalBlobStore: BlobBackend {
  public let root: String
  /// Kept, not derived per call: every path a `find` prints starts with it.
  public let blobsDirectory: String
  /// Damaged bytes moved aside by `check --repair`.
  public var damagedDirectory: String { root + "/damaged" }

  /// Opens (creating if needed) the blob tree under `root`; private to its owner (0700).
  public init(root: String) throws(StoreError) {
    self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    blobsDirectory = self.root + "/blobs/sha256"
    for directory in [self.root, self.root + "/blobs", blobsDirectory] {
      if mkdir(directory, 0o700) != 0 && errno != EEXIST {
        throw StoreError.system(.cannotCreate, "mkdir", path: directory)
      }
    }
  }

  /// The final path of a blob, whether or not it exists.
  public func path(for digest: Digest) -> String {
    // Written byte by byte into one allocation: a `find` prints tens of thousands of these.
    var directory = blobsDirectory
    var hex = digest.hex
    return directory.withUTF8 { directory in
      hex.withUTF8 { hex in
        String(unsafeUninitializedCapacity: directory.count + 2 + hex.count + 2) { path in
          var end = path.initialize(fromContentsOf: directory)
          path[end] = UInt8(ascii: "/")
          path[end + 1] = hex[0]
          path[end + 2] = hex[1]
          path[end + 3] = UInt8(ascii: "/")
          end += 4
          return path[end...].initialize(fromContentsOf: hex)
        }
      }
    }
  }

  public func location(of digest: Digest) -> BlobLocation { .path(path(for: digest)) }

  public func contains(_ digest: Digest) -> Bool {
    access(path(for: digest), F_OK) == 0
  }

  /// Every file under `blobs/sha256/`.
  public func list() -> [StoredBlob] {
    var found: [StoredBlob] = []
    let manager = FileManager.default
    for shard in ((try? manager.contentsOfDirectory(atPath: blobsDirectory)) ?? []).sorted() {
      let directory = blobsDirectory + "/" + shard
      for name in ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
        let path = directory + "/" + name
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
        let digest = Digest(hex: name).flatMap { $0.hex.prefix(2) == shard ? $0 : nil }
        found.append(
          StoredBlob(
            digest: digest, name: path, size: Int64(info.st_size),
            modified: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))))
      }
    }
    return found
  }

  /// Moves a damaged blob out of the blob tree into `damaged/` (kept for inspection, never
  /// served again); a missing one is simply forgotten.
  public func quarantine(_ digest: Digest) throws(StoreError) {
    if mkdir(damagedDirectory, 0o700) != 0 && errno != EEXIST {
      throw StoreError.system(.cannotCreate, "mkdir", path: damagedDirectory)
    }
    let target = "\(damagedDirectory)/\(digest.hex).\(Int(Date().timeIntervalSince1970))"
    guard rename(path(for: digest), target) == 0 || errno == ENOENT else {
      throw StoreError.system(.ioFailure, "rename", path: path(for: digest))
    }
  }

  /// Deletes a blob (or a stray file in the blob tree).
  public func remove(_ blob: StoredBlob) throws(StoreError) {
    let path = blob.name
    guard path.hasPrefix(blobsDirectory + "/") else {
      throw StoreError(.ioFailure, path: path, detail: "not inside the blob store; not removed")
    }
    guard unlink(path) == 0 || errno == ENOENT else { throw StoreError.system(.ioFailure, "unlink", path: path) }
  }

  /// Makes the finished staged file at `stagedPath` the blob for `digest`, following the
  /// recipe in DESIGN.md: fsync the bytes, read-only, move into place (never replacing),
  /// fsync the directory.
  /// When the blob already exists the staged file is dropped (deduplication).
  public func put(stagedPath: String, digest: Digest, size: Int64) throws(StoreError) -> PutOutcome {
    let finalPath = path(for: digest)
    if contains(digest) {
      unlink(stagedPath)
      return PutOutcome(stored: false)
    }
    try Self.fsyncFile(at: stagedPath)
    let stored = try moveIntoPlace(StagedBlob(path: stagedPath, digest: digest, size: size))
    try Self.fsyncFile(at: (finalPath as NSString).deletingLastPathComponent)
    return PutOutcome(stored: stored)
  }

  public var storesBatchesCheaply: Bool {
    #if os(Linux)
      true
    #else
      false
    #endif
  }

  /// `put` for many files with two flushes in all instead of two per file: the staged bytes
  /// are flushed (syncfs) before any is moved into place, so a blob's name never points at
  /// bytes that are not on disk, and the names are flushed before this returns, so the commit
  /// that follows never names a blob a crash could take back. syncfs flushes the whole file
  /// system the store lives on; per batch, that costs less than an fsync per file and per
  /// directory (measured in Benchmarks/scale.py).
  public func putAll(_ staged: [StagedBlob]) throws(StoreError) -> [PutOutcome] {
    #if os(Linux)
      // No check for blobs already there first: moving into place refuses to replace one, and
      // that answer costs no extra call (an access(2) per file was 1.7% of a sync).
      guard !staged.isEmpty else { return [] }
      try flushFileSystem()
      let outcomes = try staged.map { file throws(StoreError) in PutOutcome(stored: try moveIntoPlace(file)) }
      try flushFileSystem()
      return outcomes
    #else
      return try staged.map { file throws(StoreError) in
        try put(stagedPath: file.path, digest: file.digest, size: file.size)
      }
    #endif
  }

  #if os(Linux)
    private func flushFileSystem() throws(StoreError) {
      let descriptor = open(blobsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: blobsDirectory) }
      defer { close(descriptor) }
      guard gnu_syncfs(descriptor) == 0 else { throw StoreError.system(.ioFailure, "syncfs", path: blobsDirectory) }
    }
  #endif

  /// Makes the staged file the blob (read-only, moved into place; its directory made when
  /// missing); the staged name is gone either way. False when identical bytes were there
  /// first: the move never replaces, so when two transfers of identical bytes finish at once,
  /// exactly one becomes the blob and the other is counted as a duplicate. (rename(2) would
  /// silently replace, and both would claim to have stored it.) On Linux that is one
  /// renameat2(RENAME_NOREPLACE); elsewhere, or on a file system that cannot refuse to
  /// replace, link(2) and then unlink(2) of the staged name.
  private func moveIntoPlace(_ file: StagedBlob) throws(StoreError) -> Bool {
    let finalPath = path(for: file.digest)
    guard chmod(file.path, 0o444) == 0 else { throw StoreError.system(.ioFailure, "chmod", path: file.path) }
    #if os(Linux)
      switch try attempt(inShard: finalPath, { gnu_rename_noreplace(file.path, finalPath) == 0 }) {
      case 0: return true
      case EEXIST:
        unlink(file.path)
        return false
      case EINVAL, ENOSYS, ENOTSUP: break  // no RENAME_NOREPLACE here: link, as elsewhere
      case let failure: throw StoreError.system(.ioFailure, "rename", path: finalPath, errno: failure)
      }
    #endif
    defer { unlink(file.path) }
    switch try attempt(inShard: finalPath, { link(file.path, finalPath) == 0 }) {
    case 0: return true
    case EEXIST: return false
    case EPERM, ENOTSUP, EXDEV:
      // A file system without hard links: fall back to rename, which replaces atomically.
      guard rename(file.path, finalPath) == 0 else { throw StoreError.system(.ioFailure, "rename", path: finalPath) }
      return true
    case let failure: throw StoreError.system(.ioFailure, "link", path: finalPath, errno: failure)
    }
  }

  /// Runs `operation` (which makes `finalPath`), and again once its shard directory is made
  /// when that was missing: one mkdir per shard, not per file. 0 on success, else errno.
  private func attempt(inShard finalPath: String, _ operation: () -> Bool) throws(StoreError) -> Int32 {
    if operation() { return 0 }
    guard errno == ENOENT else { return errno }
    let directory = (finalPath as NSString).deletingLastPathComponent
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw StoreError.system(.cannotCreate, "mkdir", path: directory)
    }
    return operation() ? 0 : errno
  }

  /// Hands the blob's bytes to `body` in chunks of up to 1 MiB.
  public func read(_ digest: Digest, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let blobPath = path(for: digest)
    let descriptor = open(blobPath, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw StoreError.system(.missingBlob, "open", path: blobPath) }
    defer { close(descriptor) }
    posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
      if count < 0 {
        if errno == EINTR { continue }
        throw StoreError.system(.ioFailure, "read", path: blobPath)
      }
      if count == 0 { return }
      try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }
  }

  /// Re-reads a blob and compares its hash with its name.
  public func verify(_ digest: Digest) throws(StoreError) -> Bool {
    var hasher = SHA256()
    do {
      try read(digest) { hasher.update(bufferPointer: $0) }
    } catch let error as StoreError {
      throw error
    } catch {
      throw StoreError(.ioFailure, path: path(for: digest), detail: "\(error)")
    }
    return Digest(bytes: hasher.finalize()) == digest
  }

  static func fsyncFile(at path: String) throws(StoreError) {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: path) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw StoreError.system(.ioFailure, "fsync", path: path) }
  }
}
