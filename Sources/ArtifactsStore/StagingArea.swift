// Where bytes wait before they become blobs, whatever backend keeps the blobs: each process
// works in its own folder under `tmp/`, locked while it lives, so a folder whose lock can be
// taken was abandoned (killed, crashed) and its partial files can go.
import ArtifactsCore
import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file staged for a blob backend: complete, hashed and measured.
public struct StagedFile: Sendable {
  public var path: String
  public var digest: Digest
  public var size: Int64
}

public struct StagingArea: Sendable {
  public let directory: String
  /// This process's own area, made (and locked) when first needed, so commands that only
  /// read never write to the store.
  private let area: LazyArea

  public init(directory: String) {
    self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
    area = LazyArea(parent: self.directory)
  }

  /// A fresh, unique path in this process's area. The name says nothing about the file (a
  /// number counted up in this area, which is this process's alone), so nothing from a log
  /// ever appears in it. (A random name cost three system calls per file: open, read and
  /// close of /dev/urandom.)
  public func makeTemporaryPath() throws(StoreError) -> String {
    let directory = try area.get().path
    return "\(directory)/\(area.nextSerial()).part"
  }

  /// A fresh, empty file for a download to fill. Made by the caller rather than by the
  /// transfer thread: creating a file can wait on the file system (inode allocation, the
  /// directory's lock while other files are linked out of it), and the one thread that moves
  /// every transfer's bytes must not wait with it.
  public func makeTemporaryFile() throws(StoreError) -> String {
    let path = try makeTemporaryPath()
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "create", path: path) }
    close(descriptor)
    return path
  }

  /// Removes what runs that are no longer alive left behind; returns the partial files removed.
  @discardableResult
  public func removeAbandoned() -> Int {
    TemporaryArea.removeAbandoned(in: directory, except: area.existingPath)
  }

  /// Stages bytes already in memory (images embedded in logs), hashing them here.
  public func stage(bytes: [UInt8]) throws(StoreError) -> StagedFile {
    do {
      return try stage { deliver in try bytes.withUnsafeBytes { try deliver($0) } }
    } catch let error as StoreError {
      throw error
    } catch {
      throw StoreError(.ioFailure, path: directory, detail: "\(error)")
    }
  }

  /// Stages bytes handed over in chunks by `content` (which calls its argument for each
  /// chunk), hashing them on the way. With `expected`, bytes that hash differently are
  /// refused and nothing is kept.
  public func stage(
    expected: Digest? = nil, content: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
  ) throws -> StagedFile {
    let path = try makeTemporaryPath()
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw StoreError.system(.ioFailure, "open", path: path) }
    var hasher = SHA256()
    var size: Int64 = 0
    do {
      try content { bytes in
        var written = 0
        while written < bytes.count {
          let result = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
          if result < 0 {
            if errno == EINTR { continue }
            throw StoreError.system(.ioFailure, "write", path: path)
          }
          written += result
        }
        hasher.update(bufferPointer: bytes)
        size += Int64(bytes.count)
      }
      close(descriptor)
    } catch {
      close(descriptor)
      unlink(path)
      throw error
    }
    let digest = Digest(bytes: hasher.finalize())
    if let expected, expected != digest {
      unlink(path)
      throw StoreError(.digestMismatch, path: path, detail: "the bytes hash to \(digest.hex), not \(expected.hex)")
    }
    return StagedFile(path: path, digest: digest, size: size)
  }

  // MARK: Who is running

  /// This run's name in leases: the machine and its area, so another machine sharing the
  /// catalog never mistakes it for one of its own runs.
  public var runID: String {
    guard let area = try? area.get() else { return "" }
    return "\(Self.hostName)/\((area.path as NSString).lastPathComponent)"
  }

  /// Whether the run `id` may still be alive. A run of this machine is alive while it holds
  /// the lock on its area; a run of another machine cannot be asked, so it is presumed alive
  /// (its lease lapses by itself).
  public func isRunAlive(_ id: String) -> Bool {
    let parts = id.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, parts[0] == Self.hostName else { return true }
    let name = String(parts[1])
    guard IdentifierSyntax.isSafePathSegment(name) else { return false }
    if id == runID { return true }
    let descriptor = open("\(directory)/\(name)/owner.lock", O_RDWR | O_CLOEXEC)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return flock(descriptor, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK
  }

  /// The name this machine's runs (and, in a shared catalog, its scan positions) go by:
  /// `ARTIFACTS_HOST` when set (two hosts behind one hostname, containers), else the hostname.
  public static let hostName: String = {
    var name = ProcessInfo.processInfo.environment["ARTIFACTS_HOST"] ?? ""
    if name.isEmpty {
      var buffer = [CChar](repeating: 0, count: 256)
      if gethostname(&buffer, buffer.count - 1) == 0 {
        name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      }
    }
    name = name.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }
    return name.isEmpty ? "localhost" : name
  }()
}
/// Makes the temporary area on first use.
final class LazyArea: Sendable {
  private let parent: String
  private let area = Mutex<TemporaryArea?>(nil)
  private let serial = Atomic<Int>(0)

  /// 1, 2, 3…: names for the files of this area.
  func nextSerial() -> Int { serial.add(1, ordering: .relaxed).newValue }

  init(parent: String) { self.parent = parent }

  func get() throws(StoreError) -> TemporaryArea {
    let result: Result<TemporaryArea, StoreError> = area.withLock { area in
      if let area { return .success(area) }
      do {
        try FileManager.default.createDirectory(
          atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      } catch {
        return .failure(
          StoreError(.cannotCreate, path: parent, detail: "cannot create it: \(error.localizedDescription)"))
      }
      do throws(StoreError) {
        let made = try TemporaryArea(in: parent)
        area = made
        return .success(made)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  var existingPath: String? { area.withLock { $0?.path } }
}
/// A process's private folder under `tmp/`, with an exclusive flock on `owner.lock` held for
/// the life of the process (the kernel drops it when the process dies, however it dies).
final class TemporaryArea: Sendable {
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
