// Deciding how much of a log to read: nothing (unchanged), the new tail (appended JSON Lines),
// or all of it (new, rewritten, rotated or compressed).
import ArtifactsCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What `stat` says about a log file now.
public typealias LogFileStatus = LogFileIdentity

extension LogFileIdentity {
  public static func read(path: String) -> LogFileIdentity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return identity(info)
  }

  /// The identity of a file already open.
  public static func read(descriptor: Int32) -> LogFileIdentity? {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { return nil }
    return identity(info)
  }

  private static func identity(_ info: stat) -> LogFileIdentity { LogFileIdentity(status: info) }

  /// The identity `stat` reported.
  init(status info: stat) {
    self.init(
      device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
      modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
  }
}

/// Where a scan starts reading, when not at the beginning.
public struct ResumePoint: Sendable, Equatable {
  public var offset: Int64
  public var line: Int
  public var streamResponse: ResponseInfo?
}

public enum ScanPlan: Sendable, Equatable {
  case unchanged
  case resume(ResumePoint)
  case full
}

public enum IncrementalScan {
  /// How many leading bytes the fingerprint covers.
  public static let fingerprintLength = 4096

  public static func plan(path: String, status: LogFileStatus, previous: LogCheckpoint?) -> ScanPlan {
    plan(head: head(path: path) ?? [], status: status, previous: previous)
  }

  /// `head`: the file's first bytes (`head(path:)`), read once for both this decision and the
  /// checkpoint the scan will leave, so the two describe the same content.
  public static func plan(head: [UInt8], status: LogFileStatus, previous: LogCheckpoint?) -> ScanPlan {
    guard let previous else { return .full }
    let sameFile = previous.device == status.device && previous.inode == status.inode
    if sameFile && previous.size == status.size && previous.modifiedNanoseconds == status.modifiedNanoseconds {
      return .unchanged
    }
    // Only an uncompressed JSON Lines log that grew, and whose head is what it was, can be
    // resumed; anything else (shrunk, rewritten, a new file under the old name) is read again,
    // and citations already recorded are recognised by their identity.
    guard sameFile, !previous.compressed, previous.format == .jsonLines,
      status.size >= previous.size, previous.bytesConsumed <= status.size,
      matches(head, previous.headFingerprint)
    else { return .full }
    if previous.bytesConsumed == status.size && previous.size == status.size { return .unchanged }
    return .resume(
      ResumePoint(
        offset: previous.bytesConsumed, line: previous.linesConsumed + 1, streamResponse: previous.streamResponse))
  }

  /// The first `fingerprintLength` bytes of the file (fewer if it is shorter).
  public static func head(path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    return head(descriptor: descriptor)
  }

  /// The same for a file already open (read with pread: its offset is left alone).
  public static func head(descriptor: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: fingerprintLength)
    var filled = 0
    while filled < fingerprintLength {
      let count = buffer.withUnsafeMutableBytes {
        pread(descriptor, $0.baseAddress! + filled, fingerprintLength - filled, off_t(filled))
      }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { break }
      filled += count
    }
    return Array(buffer[..<filled])
  }

  /// `"<n>:<hash>"` of `head`, the first n (up to 4 KiB) bytes of a file as stored on disk.
  public static func fingerprint(of head: [UInt8]) -> String {
    "\(head.count):\(fnv1a(head[...]))"
  }

  /// `"<n>:<hash>"` of the first n (up to 4 KiB) bytes of the file as stored on disk.
  public static func fingerprint(path: String) -> String? {
    head(path: path).map(fingerprint(of:))
  }

  /// Whether `head` starts with the bytes `expected` fingerprinted.
  static func matches(_ head: [UInt8], _ expected: String) -> Bool {
    guard let colon = expected.firstIndex(of: ":"), let length = Int(expected[..<colon]), length <= head.count
    else { return false }
    return "\(length):\(fnv1a(head[..<length]))" == expected
  }

  /// FNV-1a, 64 bits: not cryptographic, only telling whether a file's head changed.
  static func fnv1a(_ bytes: ArraySlice<UInt8>) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}
