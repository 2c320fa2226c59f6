// Reads a log file's bytes in large chunks, inflating gzip transparently when the file starts
// with gzip's magic number (never judged by the file name).
import ArtifactsGzip

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

final class ByteSource {
  static let chunkSize = 1 << 20

  let path: String
  private let descriptor: Int32
  private var raw: [UInt8]
  /// In-memory input (fuzzing, tests): read in chunks like a file.
  private var memory: [UInt8]?
  private var memoryOffset = 0
  private var inflater: GzipInflater?
  private var pending: [UInt8] = []
  private(set) var isGzip = false
  private var atEnd = false
  /// Bytes of the file itself read so far (compressed bytes for gzip).
  private(set) var fileBytesRead: Int64 = 0

  init(path: String, startingAt offset: Int64 = 0) throws(LogScanError) {
    self.path = path
    descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw LogScanError(.unreadable, path: path, errno: errno) }
    raw = [UInt8](repeating: 0, count: Self.chunkSize)
    if offset > 0 {
      guard lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
        let code = errno
        close(descriptor)
        throw LogScanError(.unreadable, path: path, errno: code)
      }
      fileBytesRead = offset
    }
  }

  /// Reads `bytes` as if they were the file `name`.
  init(bytes: [UInt8], name: String) {
    path = name
    descriptor = -1
    raw = []
    memory = bytes
  }

  deinit { if descriptor >= 0 { close(descriptor) } }

  /// Peeks at the first bytes and switches to inflating when they are gzip's magic number.
  /// Only meaningful before the first `next()`.
  func detectCompression() throws(LogScanError) {
    guard let first = try readRaw() else { return }
    if hasGzipMagic(first) {
      isGzip = true
      do { inflater = try GzipInflater() } catch {
        throw LogScanError(.corruptCompression, path: path, detail: error.message)
      }
      try inflate(first)
    } else {
      pending = first
    }
  }

  /// The next chunk of (decompressed) bytes, or nil at the end. The buffer is only valid until
  /// the next call.
  func next() throws(LogScanError) -> [UInt8]? {
    if !pending.isEmpty {
      defer { pending = [] }
      return pending
    }
    while let chunk = try readRaw() {
      guard isGzip else { return chunk }
      try inflate(chunk)
      if !pending.isEmpty {
        defer { pending = [] }
        return pending
      }
    }
    if let inflater {
      self.inflater = nil
      do { try inflater.finish() } catch {
        throw LogScanError(.truncatedCompression, path: path, detail: error.message)
      }
    }
    return nil
  }

  private func inflate(_ chunk: [UInt8]) throws(LogScanError) {
    guard let inflater else { return }
    do {
      try chunk.withUnsafeBytes { input in
        try inflater.feed(input) { output in pending.append(contentsOf: output) }
      }
    } catch let error as GzipError {
      self.inflater = nil
      throw LogScanError(.corruptCompression, path: path, detail: error.message)
    } catch {
      throw LogScanError(.corruptCompression, path: path, detail: "\(error)")
    }
  }

  private func readRaw() throws(LogScanError) -> [UInt8]? {
    guard !atEnd else { return nil }
    if let memory {
      guard memoryOffset < memory.count else {
        atEnd = true
        return nil
      }
      let end = min(memory.count, memoryOffset + Self.chunkSize)
      defer { memoryOffset = end }
      fileBytesRead += Int64(end - memoryOffset)
      return Array(memory[memoryOffset..<end])
    }
    let count = raw.withUnsafeMutableBytes { buffer in
      var result: Int
      repeat { result = read(descriptor, buffer.baseAddress, buffer.count) } while result < 0 && errno == EINTR
      return result
    }
    guard count >= 0 else { throw LogScanError(.unreadable, path: path, errno: errno) }
    if count == 0 {
      atEnd = true
      return nil
    }
    fileBytesRead += Int64(count)
    return Array(raw[0..<count])
  }
}
