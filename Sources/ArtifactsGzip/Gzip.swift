// Streaming gzip in one place: the log scanner inflates `.gz` logs and the exporter deflates
// `.tar.gz` archives through these two types, so zlib is wrapped exactly once.
import CZlib

public struct GzipError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case corrupt, truncated, outOfMemory, internalError }
  public var code: Code
  public var message: String

  public var description: String { message }
}

/// True when `bytes` starts with the gzip magic number (RFC 1952), whatever the file is called.
public func hasGzipMagic<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
  var iterator = bytes.makeIterator()
  return iterator.next() == 0x1F && iterator.next() == 0x8B
}

/// Inflates a gzip stream fed in chunks of any size. Concatenated members (what `cat a.gz b.gz`
/// and some log rotators produce) are read as one stream, as `gzip -d` does.
public final class GzipInflater {
  private var stream = z_stream()
  private var output: [UInt8]
  private var memberFinished = false
  private var sawInput = false

  public init(outputChunkSize: Int = 256 * 1024) throws(GzipError) {
    output = [UInt8](repeating: 0, count: outputChunkSize)
    // 15 window bits + 16: expect a gzip header and trailer, not a raw zlib stream.
    let status = czlib_inflate_init2(&stream, 15 + 16)
    guard status == Z_OK else {
      throw GzipError(code: .outOfMemory, message: "zlib could not start inflating (code \(status))")
    }
  }

  deinit { inflateEnd(&stream) }

  /// Inflates `input`, handing each run of decompressed bytes to `sink`.
  public func feed(_ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    guard input.count > 0 else { return }
    var remaining = input
    while !remaining.isEmpty {
      if memberFinished {
        // Another member follows the one that ended; zero padding after the last member is
        // tolerated the way gzip does.
        if remaining.allSatisfy({ $0 == 0 }) { return }
        inflateReset(&stream)
        memberFinished = false
      }
      sawInput = true
      let consumed = try inflateOnce(remaining, into: sink)
      remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
    }
  }

  /// Call once all input was fed: a stream that stopped mid-member is an error worth reporting
  /// (everything inflated before the cut was already delivered).
  public func finish() throws(GzipError) {
    if sawInput && !memberFinished {
      throw GzipError(code: .truncated, message: "the gzip stream ends before its last member is complete")
    }
  }

  private func inflateOnce(_ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void)
    throws -> Int
  {
    let base = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress!)
    stream.next_in = base
    stream.avail_in = uInt(input.count)
    defer {
      stream.next_in = nil
      stream.avail_in = 0
    }
    while true {
      let capacity = output.count
      let (status, produced): (Int32, Int) = output.withUnsafeMutableBytes { buffer in
        stream.next_out = buffer.bindMemory(to: Bytef.self).baseAddress
        stream.avail_out = uInt(capacity)
        let status = inflate(&stream, Z_NO_FLUSH)
        return (status, capacity - Int(stream.avail_out))
      }
      if produced > 0 {
        try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
      }
      switch status {
      case Z_STREAM_END:
        memberFinished = true
        return input.count - Int(stream.avail_in)
      case Z_OK:
        if stream.avail_in == 0 && stream.avail_out != 0 { return input.count }
      case Z_BUF_ERROR:
        // No progress possible: all input consumed, more is needed.
        return input.count - Int(stream.avail_in)
      case Z_DATA_ERROR:
        let reason = stream.msg.map { String(cString: $0) } ?? "invalid data"
        throw GzipError(code: .corrupt, message: "corrupt gzip data: \(reason)")
      case Z_MEM_ERROR:
        throw GzipError(code: .outOfMemory, message: "zlib ran out of memory")
      default:
        throw GzipError(code: .internalError, message: "zlib inflate failed (code \(status))")
      }
    }
  }
}

/// Deflates a stream into gzip format, handing compressed chunks to a sink as they fill.
public final class GzipDeflater {
  private var stream = z_stream()
  private var output: [UInt8]

  /// `level` is zlib's 0 (store) to 9 (smallest); 6 is gzip's default.
  public init(level: Int32 = 6, outputChunkSize: Int = 256 * 1024) throws(GzipError) {
    output = [UInt8](repeating: 0, count: outputChunkSize)
    let status = czlib_deflate_init2(&stream, level, 15 + 16, 8)
    guard status == Z_OK else {
      throw GzipError(
        code: .internalError, message: "zlib could not start deflating at level \(level) (code \(status))")
    }
  }

  deinit { deflateEnd(&stream) }

  public func feed(_ input: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    guard input.count > 0 else { return }
    try run(input, flush: Z_NO_FLUSH, into: sink)
  }

  /// Writes the trailer; the deflater cannot be fed afterwards.
  public func finish(into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: sink)
  }

  private func run(_ input: UnsafeRawBufferPointer, flush: Int32, into sink: (UnsafeRawBufferPointer) throws -> Void)
    throws
  {
    stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
    stream.avail_in = uInt(input.count)
    defer {
      stream.next_in = nil
      stream.avail_in = 0
    }
    while true {
      let capacity = output.count
      let (status, produced): (Int32, Int) = output.withUnsafeMutableBytes { buffer in
        stream.next_out = buffer.bindMemory(to: Bytef.self).baseAddress
        stream.avail_out = uInt(capacity)
        let status = deflate(&stream, flush)
        return (status, capacity - Int(stream.avail_out))
      }
      if produced > 0 {
        try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
      }
      if status == Z_STREAM_END { return }
      guard status == Z_OK || status == Z_BUF_ERROR else {
        throw GzipError(code: .internalError, message: "zlib deflate failed (code \(status))")
      }
      if flush == Z_NO_FLUSH && stream.avail_in == 0 && stream.avail_out != 0 { return }
    }
  }
}
