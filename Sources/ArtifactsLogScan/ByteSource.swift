// Reads a log file's bytes in large chunks, inflating gzip transparently when the file starts
// with gzip's magic number (never judged by the file name). One buffer is reused for the whole
// file, so reading costs no allocation per chunk.
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
  private let raw: UnsafeMutableRawBufferPointer
  /// In-memory input (fuzzing, tests): read in chunks like a file.
  private let memory: [UInt8]?
  private var memoryOffset = 0
  private var inflater: GzipInflater?
  /// Inflated bytes waiting to be handed out (grown as needed, reused for the whole file).
  private var inflated = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * ByteSource.chunkSize, alignment: 16)
  private var inflatedCount = 0
  /// A chunk read ahead (by `detectCompression`) and not handed out yet.
  private var peeked: Int?
  private var handedOutInflated = false
  /// Compressed bytes in `raw` not inflated yet.
  private var compressedPending = 0..<0
  private(set) var isGzip = false
  private var atEnd = false

  /// Bytes left before `endingAt` (nil: read to the end of the file).
  private var remaining: Int64?

  init(path: String, startingAt offset: Int64 = 0, endingAt end: Int64? = nil) throws(LogScanError) {
    self.path = path
    memory = nil
    remaining = end.map { $0 - offset }
    descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw LogScanError(.unreadable, path: path, errno: errno) }
    raw = .allocate(byteCount: Self.chunkSize, alignment: 16)
    if offset > 0 {
      guard lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
        let code = errno
        close(descriptor)
        raw.deallocate()
        throw LogScanError(.unreadable, path: path, errno: code)
      }
    }
    posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
  }

  /// Reads `bytes` as if they were the file `name`.
  init(bytes: [UInt8], name: String) {
    path = name
    descriptor = -1
    memory = bytes
    raw = .allocate(byteCount: Self.chunkSize, alignment: 16)
  }

  deinit {
    if descriptor >= 0 { close(descriptor) }
    raw.deallocate()
    inflated.deallocate()
  }

  /// Peeks at the first bytes and switches to inflating when they are gzip's magic number.
  /// Only meaningful before the first `next()`.
  func detectCompression() throws(LogScanError) {
    guard let count = try readRaw() else { return }
    if hasGzipMagic(UnsafeRawBufferPointer(rebasing: raw[..<count])) {
      isGzip = true
      do { inflater = try GzipInflater() } catch {
        throw LogScanError(.corruptCompression, path: path, detail: error.message)
      }
      compressedPending = 0..<count
    } else {
      peeked = count
    }
  }

  /// The next chunk of (decompressed) bytes, or nil at the end. The bytes are only valid until
  /// the next call.
  func next() throws(LogScanError) -> UnsafeRawBufferPointer? {
    if let count = peeked {
      peeked = nil
      return UnsafeRawBufferPointer(rebasing: raw[..<count])
    }
    if !isGzip {
      guard let count = try readRaw() else { return nil }
      return UnsafeRawBufferPointer(rebasing: raw[..<count])
    }
    if handedOutInflated { inflatedCount = 0 }
    handedOutInflated = false
    // Inflate in small slices of input: deflate can expand ~1000:1, so a whole compressed
    // chunk at once could balloon memory (a gzip bomb); a slice cannot.
    while inflatedCount < Self.chunkSize {
      if compressedPending.isEmpty {
        guard let count = try readRaw() else { break }
        compressedPending = 0..<count
      }
      let slice = compressedPending.lowerBound..<min(compressedPending.upperBound, compressedPending.lowerBound + 4096)
      try inflate(UnsafeRawBufferPointer(rebasing: raw[slice]))
      compressedPending = slice.upperBound..<compressedPending.upperBound
    }
    if inflatedCount > 0 {
      handedOutInflated = true
      return UnsafeRawBufferPointer(rebasing: inflated[..<inflatedCount])
    }
    if let inflater {
      self.inflater = nil
      do { try inflater.finish() } catch {
        throw LogScanError(.truncatedCompression, path: path, detail: error.message)
      }
    }
    return nil
  }

  private func inflate(_ chunk: UnsafeRawBufferPointer) throws(LogScanError) {
    guard let inflater else { return }
    do {
      try inflater.feed(chunk) { output in appendInflated(output) }
    } catch let error as GzipError {
      self.inflater = nil
      throw LogScanError(.corruptCompression, path: path, detail: error.message)
    } catch {
      throw LogScanError(.corruptCompression, path: path, detail: "\(error)")
    }
  }

  private func appendInflated(_ output: UnsafeRawBufferPointer) {
    if inflatedCount + output.count > inflated.count {
      let grown = UnsafeMutableRawBufferPointer.allocate(
        byteCount: max(inflated.count * 2, inflatedCount + output.count), alignment: 16)
      grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: inflated[..<inflatedCount]))
      inflated.deallocate()
      inflated = grown
    }
    UnsafeMutableRawBufferPointer(rebasing: inflated[inflatedCount...]).copyMemory(from: output)
    inflatedCount += output.count
  }

  /// Fills `raw` from the file (or memory); returns the byte count, nil at the end.
  private func readRaw() throws(LogScanError) -> Int? {
    guard !atEnd else { return nil }
    if let memory {
      guard memoryOffset < memory.count else {
        atEnd = true
        return nil
      }
      let count = min(memory.count - memoryOffset, raw.count)
      memory.withUnsafeBytes { source in
        raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[memoryOffset..<memoryOffset + count]))
      }
      memoryOffset += count
      return count
    }
    var count: Int
    let wanted = remaining.map { min(Int($0), raw.count) } ?? raw.count
    if wanted == 0 {
      atEnd = true
      return nil
    }
    repeat { count = read(descriptor, raw.baseAddress, wanted) } while count < 0 && errno == EINTR
    if count > 0, let left = remaining { remaining = left - Int64(count) }
    guard count >= 0 else { throw LogScanError(.unreadable, path: path, errno: errno) }
    if count == 0 {
      atEnd = true
      return nil
    }
    return count
  }
}
