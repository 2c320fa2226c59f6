// The content-addressed blob store. A blob's only name is its SHA-256; names from logs never
// reach the file system. Bytes arrive in `tmp/` and become a blob by an atomic rename after
// they are on disk, so a crash leaves either a temp file (removed at the next start) or a whole
// blob, never a partial one under a final name.
import ArtifactsCore
import Crypto
import Foundation

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

public struct IngestOutcome: Sendable {
  public var digest: Digest
  public var size: Int64
  /// False when identical bytes were already stored: the new copy was dropped.
  public var stored: Bool
  public var path: String
}

public struct BlobStore: Sendable {
  public let root: String
  public var blobsDirectory: String { root + "/blobs/sha256" }
  public var temporaryDirectory: String { root + "/tmp" }
  public var catalogPath: String { root + "/catalog.sqlite" }
  /// This process's own area in `tmp/`, made (and locked) when first needed, so commands that
  /// only read never write to the store.
  private let area: LazyArea

  /// Opens (creating if needed) the store at `root`; the store is private to its owner (0700).
  public init(root: String) throws(StoreError) {
    self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    for directory in [self.root, self.root + "/blobs", self.root + "/blobs/sha256", self.root + "/tmp"] {
      if mkdir(directory, 0o700) != 0 && errno != EEXIST {
        throw StoreError.system(.cannotCreate, "mkdir", path: directory)
      }
    }
    area = LazyArea(parent: self.root + "/tmp")
  }

  /// The final path of a blob, whether or not it exists.
  public func path(for digest: Digest) -> String {
    let hex = digest.hex
    return "\(blobsDirectory)/\(hex.prefix(2))/\(hex)"
  }

  public func contains(_ digest: Digest) -> Bool {
    access(path(for: digest), F_OK) == 0
  }

  /// A fresh, unique path in this process's temporary area. The name says nothing about the
  /// file (only a random token), so nothing from a log ever appears in it.
  public func makeTemporaryPath() throws(StoreError) -> String {
    "\(try area.get().path)/\(UUID().uuidString.lowercased()).part"
  }

  /// A fresh, empty file in this process's temporary area, for a download to fill. Made here,
  /// by the caller, rather than by the transfer thread: creating a file can wait on the file
  /// system (inode allocation, the directory's lock while other files are linked out of it),
  /// and the one thread that moves every transfer's bytes must not wait with it.
  public func makeTemporaryFile() throws(StoreError) -> String {
    let path = try makeTemporaryPath()
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "create", path: path) }
    close(descriptor)
    return path
  }

  /// Removes what runs that are no longer alive left in `tmp/`: each run works in its own
  /// folder and holds a lock on it while it lives, so a folder whose lock can be taken was
  /// abandoned (killed, crashed), and one that is locked belongs to a run still going.
  /// Returns the partial files removed.
  @discardableResult
  public func removeAbandonedTemporaryFiles() -> Int {
    TemporaryArea.removeAbandoned(in: temporaryDirectory, except: area.existingPath)
  }

  /// A blob file found on disk.
  public struct StoredBlob: Sendable {
    /// Nil when the name is not a digest (or the file is in the wrong shard): a stray file.
    public var digest: Digest?
    public var path: String
    public var size: Int64
    public var modified: Date
  }

  /// Every file under `blobs/sha256/`.
  public func storedBlobs() -> [StoredBlob] {
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
            digest: digest, path: path, size: Int64(info.st_size),
            modified: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))))
      }
    }
    return found
  }

  /// Moves a damaged blob out of the blob tree into `damaged/` (kept for inspection, never
  /// served again); a missing one is simply forgotten.
  public func quarantine(_ digest: Digest) throws(StoreError) {
    let directory = root + "/damaged"
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw StoreError.system(.cannotCreate, "mkdir", path: directory)
    }
    let target = "\(directory)/\(digest.hex).\(Int(Date().timeIntervalSince1970))"
    guard rename(path(for: digest), target) == 0 || errno == ENOENT else {
      throw StoreError.system(.ioFailure, "rename", path: path(for: digest))
    }
  }

  /// Deletes a blob (or a stray file in the blob tree).
  public func remove(path: String) throws(StoreError) {
    guard path.hasPrefix(blobsDirectory + "/") else {
      throw StoreError(.ioFailure, path: path, detail: "not inside the blob store; not removed")
    }
    guard unlink(path) == 0 || errno == ENOENT else { throw StoreError.system(.ioFailure, "unlink", path: path) }
  }

  /// This run's id: the name of its temporary area, locked while it lives.
  public var runID: String {
    guard let area = try? area.get() else { return "" }
    return (area.path as NSString).lastPathComponent
  }

  /// Whether the run `id` is still alive (it still holds the lock on its temporary area).
  public func isRunAlive(_ id: String) -> Bool {
    guard IdentifierSyntax.isSafePathSegment(id) else { return false }
    if id == runID { return true }
    let descriptor = open("\(temporaryDirectory)/\(id)/owner.lock", O_RDWR | O_CLOEXEC)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return flock(descriptor, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK
  }

  /// Takes the store's lock: shared for work that only adds (sync, import, export), exclusive
  /// for work that removes (gc). Held until the returned value is released or dropped.
  public func lock(exclusive: Bool, wait: Bool) throws(StoreError) -> StoreLock {
    try StoreLock(path: root + "/lock", exclusive: exclusive, wait: wait)
  }

  /// Makes the finished temp file at `temporaryPath` the blob for `digest`, following the
  /// recipe in DESIGN.md: fsync the bytes, read-only, move into place, fsync the directory.
  /// When the blob already exists the temp file is dropped (deduplication).
  public func ingest(temporaryPath: String, digest: Digest, size: Int64) throws(StoreError) -> IngestOutcome {
    let finalPath = path(for: digest)
    if contains(digest) {
      unlink(temporaryPath)
      return IngestOutcome(digest: digest, size: size, stored: false, path: finalPath)
    }
    try Self.fsyncFile(at: temporaryPath)
    let directory = (finalPath as NSString).deletingLastPathComponent
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw StoreError.system(.cannotCreate, "mkdir", path: directory)
    }
    guard chmod(temporaryPath, 0o444) == 0 else { throw StoreError.system(.ioFailure, "chmod", path: temporaryPath) }
    // link(2) is atomic and never replaces: when two transfers of identical bytes finish at
    // once, exactly one becomes the blob and the other is counted as a duplicate. (rename(2)
    // would silently replace, and both would claim to have stored it.)
    var stored = true
    if link(temporaryPath, finalPath) != 0 {
      switch errno {
      case EEXIST:
        stored = false
      case EPERM, ENOTSUP, EXDEV:
        // A file system without hard links: fall back to rename, which replaces atomically.
        guard rename(temporaryPath, finalPath) == 0 else {
          throw StoreError.system(.ioFailure, "rename", path: finalPath)
        }
      default:
        throw StoreError.system(.ioFailure, "link", path: finalPath)
      }
    }
    unlink(temporaryPath)
    try Self.fsyncFile(at: directory)
    return IngestOutcome(digest: digest, size: size, stored: stored, path: finalPath)
  }

  /// Stores bytes that are already in memory (images embedded in logs), hashing them here.
  public func ingest(bytes: [UInt8]) throws(StoreError) -> IngestOutcome {
    let digest = Digest(bytes: SHA256.hash(data: bytes))
    if contains(digest) {
      return IngestOutcome(digest: digest, size: Int64(bytes.count), stored: false, path: path(for: digest))
    }
    let temporaryPath = try makeTemporaryPath()
    let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: temporaryPath) }
    defer { close(descriptor) }
    var written = 0
    while written < bytes.count {
      let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
      if result < 0 {
        if errno == EINTR { continue }
        let error = StoreError.system(.ioFailure, "write", path: temporaryPath)
        unlink(temporaryPath)
        throw error
      }
      written += result
    }
    return try ingest(temporaryPath: temporaryPath, digest: digest, size: Int64(bytes.count))
  }

  /// Stores bytes handed over in chunks by `content` (which calls its argument for each chunk),
  /// hashing them on the way. With `expected`, bytes that hash differently are refused and
  /// nothing is stored.
  public func ingest(
    expected: Digest? = nil,
    content: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
  ) throws -> IngestOutcome {
    let temporaryPath = try makeTemporaryPath()
    let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: temporaryPath) }
    var hasher = SHA256()
    var size: Int64 = 0
    do {
      try content { bytes in
        var written = 0
        while written < bytes.count {
          let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
          if result < 0 {
            if errno == EINTR { continue }
            throw StoreError.system(.ioFailure, "write", path: temporaryPath)
          }
          written += result
        }
        hasher.update(bufferPointer: bytes)
        size += Int64(bytes.count)
      }
      close(descriptor)
    } catch {
      close(descriptor)
      unlink(temporaryPath)
      throw error
    }
    let digest = Digest(bytes: hasher.finalize())
    if let expected, expected != digest {
      unlink(temporaryPath)
      throw StoreError(
        .digestMismatch, path: temporaryPath, detail: "the bytes hash to \(digest.hex), not \(expected.hex)")
    }
    return try ingest(temporaryPath: temporaryPath, digest: digest, size: size)
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

/// Makes the temporary area on first use.
final class LazyArea: @unchecked Sendable {
  private let parent: String
  private let lock = NSLock()
  private var area: TemporaryArea?

  init(parent: String) { self.parent = parent }

  func get() throws(StoreError) -> TemporaryArea {
    lock.lock()
    defer { lock.unlock() }
    if let area { return area }
    let made = try TemporaryArea(in: parent)
    area = made
    return made
  }

  var existingPath: String? { lock.withLock { area?.path } }
}

/// A process's private folder under `tmp/`, with an exclusive flock on `owner.lock` held for
/// the life of the process (the kernel drops it when the process dies, however it dies).
final class TemporaryArea: @unchecked Sendable {
  let path: String
  private let descriptor: Int32

  init(in parent: String) throws(StoreError) {
    path = "\(parent)/\(UUID().uuidString.lowercased())"
    guard mkdir(path, 0o700) == 0 else { throw StoreError.system(.cannotCreate, "mkdir", path: path) }
    descriptor = open(path + "/owner.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0, flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      throw StoreError.system(.cannotCreate, "lock", path: path)
    }
  }

  deinit {
    // A clean exit leaves nothing behind.
    TemporaryArea.removeTree(path)
    close(descriptor)
  }

  static func removeAbandoned(in parent: String, except own: String?) -> Int {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return 0 }
    var removed = 0
    for name in names {
      let path = parent + "/" + name
      guard path != own else { continue }
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
      if !isDirectory.boolValue {
        // A loose file from an older layout: no owner can be writing it.
        if unlink(path) == 0 { removed += 1 }
        continue
      }
      let descriptor = open(path + "/owner.lock", O_RDWR | O_CLOEXEC)
      if descriptor >= 0 {
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }  // its owner is alive
      } else {
        // No lock file yet: a run may have just made the folder and be about to lock it.
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        guard let modified, modified < Date().addingTimeInterval(-60) else { continue }
      }
      removed +=
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".part") }.count
      removeTree(path)
    }
    return removed
  }

  static func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
  }
}

/// The store-wide lock (`flock` on `lock`): many runs may add at once, but gc removes alone.
public final class StoreLock: @unchecked Sendable {
  private var descriptor: Int32

  init(path: String, exclusive: Bool, wait: Bool) throws(StoreError) {
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: path) }
    let operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
    var result: Int32
    repeat { result = flock(descriptor, operation) } while result != 0 && errno == EINTR
    guard result == 0 else {
      let code = errno
      close(descriptor)
      if code == EWOULDBLOCK {
        throw StoreError(
          .busy, path: path,
          detail: exclusive ? "another artifacts command is using the store" : "artifacts gc is cleaning the store")
      }
      throw StoreError.system(.ioFailure, "flock", path: path, errno: code)
    }
  }

  public func release() {
    guard descriptor >= 0 else { return }
    close(descriptor)
    descriptor = -1
  }

  deinit { release() }
}
