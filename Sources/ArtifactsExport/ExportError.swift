#if canImport(Glibc)
  import Glibc
#endif

public struct ExportError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case io, malformedArchive, notAnExport, digestMismatch, unsafeEntry }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  static func system(_ operation: String, path: String, errno: Int32 = errno) -> ExportError {
    ExportError(.io, "\(operation) \(path): \(String(cString: strerror(errno)))")
  }

  public var description: String { message }
}
