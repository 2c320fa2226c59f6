// Where archive bytes go: a file descriptor (a file or stdout), optionally through gzip.
import ArtifactsGzip

#if canImport(Glibc)
  import Glibc
#endif

public protocol ByteSink: AnyObject {
  func write(_ bytes: UnsafeRawBufferPointer) throws(ExportError)
  /// Flushes whatever is buffered (and writes a compression trailer).
  func finish() throws(ExportError)
}

extension ByteSink {
  func write(_ bytes: [UInt8]) throws(ExportError) {
    try withBytes(bytes) { buffer throws(ExportError) in try write(buffer) }
  }
}

/// `withUnsafeBytes` that keeps the closure's error type (the standard one widens it to `any Error`).
func withBytes<Result>(
  _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ExportError) -> Result
) throws(ExportError) -> Result {
  let outcome: Swift.Result<Result, ExportError> = bytes.withUnsafeBytes { buffer in
    Swift.Result { () throws(ExportError) in try body(buffer) }
  }
  return try outcome.get()
}

/// Writes to a file descriptor through a 1 MiB buffer.
public final class DescriptorSink: ByteSink {
  private let descriptor: Int32
  private let name: String
  private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
  private var filled = 0
  /// Bytes handed to the descriptor so far.
  public private(set) var bytesWritten: Int64 = 0

  public init(descriptor: Int32, name: String) {
    self.descriptor = descriptor
    self.name = name
  }

  deinit { buffer.deallocate() }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
    // Large writes (blob chunks) go straight out once the buffer is empty: no copy.
    if bytes.count >= buffer.count / 2 {
      try flush()
      try writeAll(bytes)
      return
    }
    var offset = 0
    while offset < bytes.count {
      if filled == buffer.count { try flush() }
      let count = min(buffer.count - filled, bytes.count - offset)
      UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + count])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
      filled += count
      offset += count
    }
  }

  public func finish() throws(ExportError) { try flush() }

  private func flush() throws(ExportError) {
    guard filled > 0 else { return }
    try writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
    filled = 0
  }

  private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
    var offset = 0
    while offset < bytes.count {
      let result = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if result < 0 {
        if errno == EINTR { continue }
        throw ExportError.system("write", path: name)
      }
      offset += result
    }
    bytesWritten += Int64(bytes.count)
  }
}

/// Compresses into another sink, on every core (see `ParallelGzipWriter`).
public final class GzipSink: ByteSink {
  private let next: any ByteSink
  private let writer: ParallelGzipWriter

  public init(level: Int32, into next: any ByteSink) throws(ExportError) {
    self.next = next
    writer = ParallelGzipWriter(level: level) { output in try next.write(output) }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
    do { try writer.write(bytes) } catch { throw Self.wrap(error) }
  }

  public func finish() throws(ExportError) {
    do { try writer.finish() } catch { throw Self.wrap(error) }
    try next.finish()
  }

  private static func wrap(_ error: any Error) -> ExportError {
    if let error = error as? ExportError { return error }
    if let error = error as? GzipError { return ExportError(.io, error.message) }
    return ExportError(.io, "\(error)")
  }
}
