#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a whole log (not one record of it) could not be read. Record-level problems are
/// diagnostics, not errors: they never stop a scan.
public struct LogScanError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case unreadable, corruptCompression, truncatedCompression }

  public var code: Code
  public var path: String
  public var detail: String

  init(_ code: Code, path: String, detail: String) {
    self.code = code
    self.path = path
    self.detail = detail
  }

  init(_ code: Code, path: String, errno: Int32) {
    self.init(code, path: path, detail: String(cString: strerror(errno)))
  }

  /// What went wrong, without the path (a diagnostic carries the path on its own).
  public var problem: String {
    switch code {
    case .unreadable: return "cannot be read: \(detail)"
    case .corruptCompression: return detail
    case .truncatedCompression: return "\(detail); records before the cut were read"
    }
  }

  public var description: String {
    switch code {
    case .unreadable: return "cannot read \(path): \(detail)"
    case .corruptCompression: return "\(path): \(detail)"
    case .truncatedCompression: return "\(path): \(detail); records before the cut were read"
    }
  }
}
