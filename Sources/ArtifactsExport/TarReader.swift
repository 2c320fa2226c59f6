// Reads tar archives (ustar, pax extended headers, GNU long names), gzip-compressed or not,
// streaming: an entry's content is handed over in chunks and never held whole.
import ArtifactsGzip
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

public struct TarEntry: Sendable, Equatable {
  public enum Kind: Sendable, Equatable { case file, hardLink, directory, other(Character) }

  public var path: String
  public var kind: Kind
  public var size: Int64
  public var linkTarget: String?
  public var modified: Int64
}

public final class TarReader {
  private let input: ArchiveInput
  private var pendingContent: Int64 = 0
  private var pendingPadding: Int64 = 0

  /// Reads from `descriptor` (a file or stdin); `name` is for messages.
  public init(descriptor: Int32, name: String) {
    input = ArchiveInput(descriptor: descriptor, name: name)
  }

  /// The next entry, or nil at the end of the archive. Any content of the previous entry that
  /// was not read is skipped.
  public func next() throws(ExportError) -> TarEntry? {
    try skipContent()
    var overrides: [String: String] = [:]
    var longName: String?
    var longLink: String?
    while true {
      guard let block = try input.read(exactly: 512) else { return nil }
      if block.allSatisfy({ $0 == 0 }) { return nil }  // end-of-archive marker
      guard Self.checksumMatches(block) else {
        throw ExportError(
          .malformedArchive, "\(input.name): a tar header has a bad checksum (not a tar archive, or damaged)")
      }
      let type = Character(Unicode.Scalar(block[156] == 0 ? UInt8(ascii: "0") : block[156]))
      let size = try Self.number(block[124..<136], name: input.name)
      switch type {
      case "x", "g":
        let records = try readWhole(size)
        if type == "x" { overrides.merge(Self.paxRecords(records)) { $1 } }
        continue
      case "L", "K":
        let text = String(decoding: try readWhole(size).prefix { $0 != 0 }, as: UTF8.self)
        if type == "L" { longName = text } else { longLink = text }
        continue
      default:
        break
      }
      let prefix = Self.string(block[345..<500])
      let name = Self.string(block[0..<100])
      let path = overrides["path"] ?? longName ?? (prefix.isEmpty ? name : prefix + "/" + name)
      let link = overrides["linkpath"] ?? longLink ?? Self.string(block[157..<257])
      let entrySize = overrides["size"].flatMap(Int64.init) ?? size
      let kind: TarEntry.Kind =
        switch type {
        case "0", "7": .file
        case "1": .hardLink
        case "5": .directory
        default: .other(type)
        }
      let hasContent = kind == .file || kind == .other(type) && type != "2" && type != "3" && type != "4" && type != "6"
      pendingContent = hasContent ? entrySize : 0
      pendingPadding = hasContent ? (512 - entrySize % 512) % 512 : 0
      return TarEntry(
        path: path, kind: kind, size: entrySize, linkTarget: kind == .hardLink || type == "2" ? link : nil,
        modified: (try? Self.number(block[136..<148], name: input.name)) ?? 0)
    }
  }

  /// Hands over the current entry's content in chunks.
  public func readContent(_ body: (UnsafeRawBufferPointer) throws(ExportError) -> Void) throws(ExportError) {
    while pendingContent > 0 {
      let chunk = try input.read(upTo: Int(min(pendingContent, 1 << 20)))
      guard !chunk.isEmpty else {
        throw ExportError(.malformedArchive, "\(input.name): the archive ends inside an entry")
      }
      pendingContent -= Int64(chunk.count)
      try withBytes(Array(chunk)) { buffer throws(ExportError) in try body(buffer) }
    }
  }

  private func skipContent() throws(ExportError) {
    try readContent { _ throws(ExportError) in }
    if pendingPadding > 0 {
      guard try input.read(exactly: Int(pendingPadding)) != nil else {
        throw ExportError(.malformedArchive, "\(input.name): the archive ends inside an entry")
      }
      pendingPadding = 0
    }
  }

  private func readWhole(_ size: Int64) throws(ExportError) -> [UInt8] {
    guard size <= 1 << 20 else {
      throw ExportError(.malformedArchive, "\(input.name): an extended header is too large")
    }
    guard let bytes = try input.read(exactly: Int(size)) else {
      throw ExportError(.malformedArchive, "\(input.name): the archive ends inside a header")
    }
    let padding = Int((512 - size % 512) % 512)
    if padding > 0 { _ = try input.read(exactly: padding) }
    return bytes
  }

  // MARK: Header fields

  static func checksumMatches(_ block: [UInt8]) -> Bool {
    guard let stored = Int64(string(block[148..<156]).trimmingCharacters(in: .whitespaces), radix: 8) else {
      return false
    }
    var sum: Int64 = 0
    for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 0x20 : Int64(byte) }
    return sum == stored
  }

  static func number(_ field: ArraySlice<UInt8>, name: String) throws(ExportError) -> Int64 {
    if let first = field.first, first & 0x80 != 0 {
      // GNU base-256 for values too large for octal.
      return field.dropFirst().reduce(Int64(first & 0x7F)) { $0 << 8 | Int64($1) }
    }
    let text = string(field).trimmingCharacters(in: .whitespaces)
    if text.isEmpty { return 0 }
    guard let value = Int64(text, radix: 8) else {
      throw ExportError(.malformedArchive, "\(name): a tar header has a malformed number")
    }
    return value
  }

  static func string(_ field: ArraySlice<UInt8>) -> String {
    String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
  }

  static func paxRecords(_ bytes: [UInt8]) -> [String: String] {
    var records: [String: String] = [:]
    var index = 0
    while index < bytes.count {
      guard let space = bytes[index...].firstIndex(of: 0x20),
        let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0,
        index + length <= bytes.count
      else { break }
      let body = bytes[(space + 1)..<(index + length - 1)]  // without the trailing newline
      if let equals = body.firstIndex(of: UInt8(ascii: "=")) {
        records[String(decoding: body[..<equals], as: UTF8.self)] = String(
          decoding: body[(equals + 1)...], as: UTF8.self)
      }
      index += length
    }
    return records
  }
}

/// Bytes of an archive from a descriptor, inflated when they start with gzip's magic number.
final class ArchiveInput {
  let name: String
  private let descriptor: Int32
  private var inflater: GzipInflater?
  private var detected = false
  private var buffer: [UInt8] = []
  private var position = 0
  private var rawEnded = false

  init(descriptor: Int32, name: String) {
    self.descriptor = descriptor
    self.name = name
  }

  /// Exactly `count` bytes, or nil if the input ends first (with nothing read).
  func read(exactly count: Int) throws(ExportError) -> [UInt8]? {
    var output: [UInt8] = []
    while output.count < count {
      let chunk = try read(upTo: count - output.count)
      if chunk.isEmpty {
        if output.isEmpty { return nil }
        throw ExportError(.malformedArchive, "\(name): the archive is truncated")
      }
      output.append(contentsOf: chunk)
    }
    return output
  }

  func read(upTo count: Int) throws(ExportError) -> ArraySlice<UInt8> {
    while position >= buffer.count {
      guard try fill() else { return [] }
    }
    let end = min(buffer.count, position + count)
    defer { position = end }
    return buffer[position..<end]
  }

  /// Refills `buffer` with the next bytes (inflated if need be); false at the end.
  private func fill() throws(ExportError) -> Bool {
    buffer.removeAll(keepingCapacity: true)
    position = 0
    while buffer.isEmpty {
      guard !rawEnded else {
        if let inflater {
          self.inflater = nil
          do { try inflater.finish() } catch { throw ExportError(.malformedArchive, "\(name): \(error.message)") }
        }
        return false
      }
      var raw = [UInt8](repeating: 0, count: 1 << 16)
      let count = raw.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw ExportError.system("read", path: name)
      }
      if count == 0 {
        rawEnded = true
        continue
      }
      let chunk = raw[..<count]
      if !detected {
        detected = true
        if hasGzipMagic(chunk) {
          do { inflater = try GzipInflater() } catch { throw ExportError(.io, error.message) }
        }
      }
      if let inflater {
        do {
          try chunk.withUnsafeBytes { input in try inflater.feed(input) { buffer.append(contentsOf: $0) } }
        } catch {
          throw ExportError(.malformedArchive, "\(name): \(error)")
        }
      } else {
        buffer.append(contentsOf: chunk)
      }
    }
    return true
  }
}
