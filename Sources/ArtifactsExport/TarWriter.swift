// A POSIX pax (ustar + extended headers) tar writer. Everything it writes is deterministic:
// uid/gid 0, no user or group names, times given by the caller, no access/change times.

public struct TarWriter {
  public static let blockSize = 512
  /// GNU tar and bsdtar write archives in records of 20 blocks; so do we.
  static let recordSize = 20 * 512

  private let sink: any ByteSink
  private var written: Int64 = 0

  public init(sink: any ByteSink) {
    self.sink = sink
  }

  public mutating func directory(_ path: String, modified: Int64) throws(ExportError) {
    let name = path.hasSuffix("/") ? path : path + "/"
    try header(name: name, type: "5", size: 0, mode: 0o755, modified: modified, linkTarget: nil)
  }

  /// A regular file whose `size` bytes `content` hands over, in order, through its argument.
  public mutating func file(
    _ path: String, size: Int64, modified: Int64,
    content: ((UnsafeRawBufferPointer) throws(ExportError) -> Void) throws(ExportError) -> Void
  ) throws(ExportError) {
    try header(name: path, type: "0", size: size, mode: 0o644, modified: modified, linkTarget: nil)
    var delivered: Int64 = 0
    try content { bytes throws(ExportError) in
      delivered += Int64(bytes.count)
      guard delivered <= size else { throw ExportError(.io, "\(path) grew while it was being archived") }
      try write(bytes)
    }
    guard delivered == size else {
      throw ExportError(.io, "\(path) has \(delivered) bytes, \(size) were announced")
    }
    try padToBlock()
  }

  public mutating func file(_ path: String, bytes: [UInt8], modified: Int64) throws(ExportError) {
    try file(path, size: Int64(bytes.count), modified: modified) { emit throws(ExportError) in
      try withBytes(bytes) { buffer throws(ExportError) in try emit(buffer) }
    }
  }

  /// A hard link to an entry written earlier: the same content, stored once.
  public mutating func hardLink(_ path: String, to target: String, modified: Int64) throws(ExportError) {
    try header(name: path, type: "1", size: 0, mode: 0o644, modified: modified, linkTarget: target)
  }

  /// Writes the end-of-archive marker and pads to a whole record.
  public mutating func finish() throws(ExportError) {
    try write([UInt8](repeating: 0, count: 2 * Self.blockSize))
    let remainder = Int(written % Int64(Self.recordSize))
    if remainder != 0 { try write([UInt8](repeating: 0, count: Self.recordSize - remainder)) }
    try sink.finish()
  }

  // MARK: Headers

  private mutating func header(
    name: String, type: Character, size: Int64, mode: Int, modified: Int64, linkTarget: String?
  ) throws(ExportError) {
    var extended: [(String, String)] = []
    let ustarName = Self.ustarSplit(name)
    if ustarName == nil { extended.append(("path", name)) }
    if let linkTarget, !Self.fitsUstar(linkTarget, 100) { extended.append(("linkpath", linkTarget)) }
    // ustar's size field holds 11 octal digits (8 GiB); beyond that pax says it.
    if size > 0o77777777777 { extended.append(("size", String(size))) }
    if !extended.isEmpty {
      let records = Self.paxRecords(extended)
      // The extended header's own name: deterministic, short, plain ASCII.
      try writeHeader(
        name: ("", "PaxHeaders/" + Self.asciiShadow(name, limit: 80)), type: "x", size: Int64(records.count),
        mode: 0o644,
        modified: modified, linkTarget: nil)
      try write(records)
      try padToBlock()
    }
    try writeHeader(
      name: ustarName ?? ("", Self.asciiShadow(name, limit: 100)), type: type, size: min(size, 0o77777777777),
      mode: mode, modified: modified,
      linkTarget: linkTarget.map { Self.fitsUstar($0, 100) ? $0 : Self.asciiShadow($0, limit: 100) })
  }

  private mutating func writeHeader(
    name: (prefix: String, name: String), type: Character, size: Int64, mode: Int, modified: Int64, linkTarget: String?
  ) throws(ExportError) {
    var block = [UInt8](repeating: 0, count: Self.blockSize)
    func put(_ text: String, at offset: Int, width: Int) {
      for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
    }
    func octal(_ value: Int64, at offset: Int, width: Int) {
      let digits = String(value, radix: 8)
      put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
    }
    put(name.name, at: 0, width: 100)
    octal(Int64(mode), at: 100, width: 8)
    octal(0, at: 108, width: 8)  // uid
    octal(0, at: 116, width: 8)  // gid
    octal(size, at: 124, width: 12)
    octal(max(0, modified), at: 136, width: 12)
    block[156] = type.asciiValue!
    if let linkTarget { put(linkTarget, at: 157, width: 100) }
    put("ustar", at: 257, width: 6)
    put("00", at: 263, width: 2)
    octal(0, at: 329, width: 8)  // devmajor
    octal(0, at: 337, width: 8)  // devminor
    put(name.prefix, at: 345, width: 155)
    // The checksum is computed with its own field as eight spaces.
    for index in 148..<156 { block[index] = 0x20 }
    let checksum = block.reduce(0) { $0 + Int64($1) }
    let digits = String(checksum, radix: 8)
    put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
    block[154] = 0
    block[155] = 0x20
    try write(block)
  }

  private mutating func write(_ bytes: [UInt8]) throws(ExportError) {
    try sink.write(bytes)
    written += Int64(bytes.count)
  }

  private mutating func write(_ bytes: UnsafeRawBufferPointer) throws(ExportError) {
    try sink.write(bytes)
    written += Int64(bytes.count)
  }

  private mutating func padToBlock() throws(ExportError) {
    let remainder = Int(written % Int64(Self.blockSize))
    if remainder != 0 { try write([UInt8](repeating: 0, count: Self.blockSize - remainder)) }
  }

  // MARK: Names

  /// Printable ASCII only, and no longer than `limit` bytes.
  static func fitsUstar(_ text: String, _ limit: Int) -> Bool {
    text.utf8.count <= limit && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
  }

  /// ustar's (prefix, name) split of a path, when the path fits ustar at all.
  static func ustarSplit(_ path: String) -> (prefix: String, name: String)? {
    guard fitsUstar(path, 255) else { return nil }
    if path.utf8.count <= 100 { return ("", path) }
    // Split at a slash so that the prefix has at most 155 bytes and the name at most 100.
    let bytes = Array(path.utf8)
    for index in stride(from: min(155, bytes.count - 1), through: 1, by: -1) where bytes[index] == 0x2F {
      let name = bytes.count - index - 1
      if name <= 100 && name > 0 {
        return (
          String(decoding: bytes[..<index], as: UTF8.self), String(decoding: bytes[(index + 1)...], as: UTF8.self)
        )
      }
    }
    return nil
  }

  /// A stand-in name for readers that ignore pax headers: ASCII, truncated.
  static func asciiShadow(_ text: String, limit: Int) -> String {
    let ascii = String(
      text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "_" })
    return String(ascii.prefix(limit))
  }

  /// `"<length> <key>=<value>\n"` records, where the length counts the whole record.
  static func paxRecords(_ pairs: [(String, String)]) -> [UInt8] {
    var output: [UInt8] = []
    for (key, value) in pairs {
      let body = " \(key)=\(value)\n"
      var length = body.utf8.count + 1
      while String(length).utf8.count + body.utf8.count != length {
        length = String(length).utf8.count + body.utf8.count
      }
      output.append(contentsOf: Array((String(length) + body).utf8))
    }
    return output
  }
}
