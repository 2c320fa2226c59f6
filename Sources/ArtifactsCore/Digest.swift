/// A SHA-256 content digest: the only name a stored file ever has.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
  /// 64 lower-case hexadecimal characters.
  public let hex: String

  /// Accepts exactly 64 hexadecimal characters (either case); nil for anything else.
  public init?(hex: String) {
    // Checked over the contiguous bytes, and lowered only when it has an upper-case digit:
    // a `find` reads 62,500 digests from the catalog, all already lower case.
    var hex = hex
    let form = hex.withUTF8 { bytes -> (valid: Bool, lower: Bool) in
      guard bytes.count == 64 else { return (false, false) }
      var lower = true
      for byte in bytes {
        guard Digest.isHexDigit(byte) else { return (false, false) }
        if byte <= 0x46 && byte >= 0x41 { lower = false }
      }
      return (true, lower)
    }
    guard form.valid else { return nil }
    self.hex = form.lower ? hex : hex.lowercased()
  }

  public init<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
    let table = Array("0123456789abcdef".utf8)
    var characters: [UInt8] = []
    characters.reserveCapacity(64)
    for byte in bytes {
      characters.append(table[Int(byte >> 4)])
      characters.append(table[Int(byte & 0x0F)])
    }
    precondition(characters.count == 64, "a SHA-256 digest has 32 bytes")
    self.hex = String(decoding: characters, as: UTF8.self)
  }

  public var description: String { hex }
  /// The short form shown in tables, like git's abbreviated hashes.
  public var short: String { String(hex.prefix(12)) }

  public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

  /// True for a non-empty run of hex digits: the form a digest prefix typed by a user takes.
  public static func isHexPrefix(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.count <= 64 && text.utf8.allSatisfy(isHexDigit)
  }

  private static func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
  }
}

extension Digest {
  /// Written as its hex; read back only if it is one.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let digest = Digest(hex: text) else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not a SHA-256 digest")
    }
    self = digest
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(hex)
  }
}
