// gzip on every core, for exports. The input is cut into fixed blocks; each is deflated on its
// own (primed with the 32 KiB before it, so compression barely suffers), ended with a sync
// flush so the pieces join into one valid deflate stream, and the CRCs are combined. Block
// boundaries depend only on the input, so the output is the same byte for byte whatever the
// number of threads (the approach of pigz).
import CZlib
import Dispatch
import Foundation
import Synchronization

public final class ParallelGzipWriter {
  public static let blockSize = 128 * 1024
  static let dictionarySize = 32 * 1024

  private let level: Int32
  private let output: (UnsafeRawBufferPointer) throws -> Void
  private let batchSize: Int
  /// Blocks waiting to be compressed together; the last may be partly filled.
  private var blocks: [[UInt8]] = []
  /// The end of the last block compressed: the next block's dictionary.
  private var previousTail: [UInt8] = []
  private var crc: uLong = crc32(0, nil, 0)
  private var totalLength: UInt64 = 0
  private var headerWritten = false

  public init(
    level: Int32, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
    output: @escaping (UnsafeRawBufferPointer) throws -> Void
  ) {
    self.level = level
    self.output = output
    batchSize = max(1, threads) * 4
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      if blocks.isEmpty || blocks[blocks.count - 1].count == Self.blockSize {
        if blocks.count == batchSize { try compressBatch(final: false) }
        blocks.append([])
        blocks[blocks.count - 1].reserveCapacity(Self.blockSize)
      }
      let room = Self.blockSize - blocks[blocks.count - 1].count
      let count = min(room, bytes.count - offset)
      blocks[blocks.count - 1].append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
      offset += count
    }
  }

  /// Compresses what is left and writes the trailer.
  public func finish() throws {
    if blocks.isEmpty { blocks.append([]) }
    try compressBatch(final: true)
    var trailer = [UInt8]()
    for shift in stride(from: 0, to: 32, by: 8) {
      trailer.append(UInt8(truncatingIfNeeded: UInt64(crc) >> UInt64(shift)))
    }
    for shift in stride(from: 0, to: 32, by: 8) {
      trailer.append(UInt8(truncatingIfNeeded: totalLength >> UInt64(shift)))
    }
    try trailer.withUnsafeBytes { try output($0) }
  }

  private func compressBatch(final: Bool) throws {
    if !headerWritten {
      // Magic, deflate, no flags, no time (deterministic), no extra flags, Unix.
      let header: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]
      try header.withUnsafeBytes { try output($0) }
      headerWritten = true
    }
    let batch = blocks
    blocks = []
    let dictionaries: [[UInt8]] = [previousTail] + batch.dropLast().map { Array($0.suffix(Self.dictionarySize)) }
    let results = BlockResults(count: batch.count)
    let level = self.level
    DispatchQueue.concurrentPerform(iterations: batch.count) { index in
      let isLast = final && index == batch.count - 1
      results.set(index, Self.compress(batch[index], dictionary: dictionaries[index], level: level, final: isLast))
    }
    for (index, result) in results.all.enumerated() {
      guard case .success(let compressed) = result else {
        if case .failure(let error) = result { throw error }
        continue
      }
      try compressed.bytes.withUnsafeBytes { try output($0) }
      crc = crc32_combine(crc, compressed.crc, off_t(batch[index].count))
      totalLength &+= UInt64(batch[index].count)
    }
    previousTail = Array((batch.last ?? []).suffix(Self.dictionarySize))
  }

  struct CompressedBlock: Sendable {
    var bytes: [UInt8]
    var crc: uLong
  }

  static func compress(_ input: [UInt8], dictionary: [UInt8], level: Int32, final: Bool) -> Result<
    CompressedBlock, GzipError
  > {
    var stream = z_stream()
    // Negative window bits: raw deflate, no zlib or gzip wrapper around each block.
    guard czlib_deflate_init2(&stream, level, -15, 8) == Z_OK else {
      return .failure(GzipError(code: .internalError, message: "zlib could not start a block at level \(level)"))
    }
    defer { deflateEnd(&stream) }
    if !dictionary.isEmpty {
      _ = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
    }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
    let status: Int32 = input.withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { target in
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        stream.avail_in = uInt(source.count)
        stream.next_out = target.baseAddress
        stream.avail_out = uInt(target.count)
        return deflate(&stream, final ? Z_FINISH : Z_SYNC_FLUSH)
      }
    }
    guard status == (final ? Z_STREAM_END : Z_OK), stream.avail_in == 0 else {
      return .failure(GzipError(code: .internalError, message: "zlib failed to compress a block (code \(status))"))
    }
    output.removeLast(Int(stream.avail_out))
    let checksum = input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
    return .success(CompressedBlock(bytes: output, crc: checksum))
  }
}

/// Results written by concurrent workers, one slot each.
private final class BlockResults: Sendable {
  private let slots: Mutex<[Result<ParallelGzipWriter.CompressedBlock, GzipError>?]>

  init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

  func set(_ index: Int, _ result: Result<ParallelGzipWriter.CompressedBlock, GzipError>) {
    slots.withLock { $0[index] = result }
  }

  var all: [Result<ParallelGzipWriter.CompressedBlock, GzipError>] {
    slots.withLock { slots in
      slots.map { $0 ?? .failure(GzipError(code: .internalError, message: "a block was not compressed")) }
    }
  }
}
