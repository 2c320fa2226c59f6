// A small JSON parser over raw bytes. Logs are untrusted: nesting is bounded (a record nested
// 100,000 levels deep is an error, not a stack overflow), invalid UTF-8 inside strings is
// repaired with U+FFFD rather than refused, and every error carries a byte offset.

public indirect enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members[key] }
    return nil
  }

  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The value as an integer when it is a number with no fractional part.
  public var intValue: Int? {
    guard case .number(let value) = self, value.rounded() == value, abs(value) < 9.0e15 else { return nil }
    return Int(value)
  }

  public var arrayValue: [JSONValue]? {
    if case .array(let elements) = self { return elements }
    return nil
  }

  public var objectValue: [String: JSONValue]? {
    if case .object(let members) = self { return members }
    return nil
  }
}

public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  /// Byte offset into the parsed text where the problem was found.
  public var offset: Int

  public var description: String { "\(message) at byte \(offset)" }
}

public struct JSONParser {
  public static let maximumDepth = 512

  private let bytes: UnsafeRawBufferPointer
  private(set) var position: Int
  /// Set when a string held invalid UTF-8 that was replaced with U+FFFD.
  private(set) var repairedText = false

  /// Parses exactly one JSON value from `bytes`, allowing surrounding white space only.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
    var repaired = false
    return try parse(bytes, repairedText: &repaired)
  }

  /// Like `parse(_:)`, and tells whether invalid UTF-8 had to be replaced.
  public static func parse(_ bytes: UnsafeRawBufferPointer, repairedText: inout Bool) throws(JSONSyntaxError)
    -> JSONValue
  {
    var parser = JSONParser(bytes: bytes, position: 0)
    let value = try parser.parseNextValue()
    parser.skipWhitespace()
    if parser.position < bytes.count {
      throw JSONSyntaxError(message: "unexpected text after the JSON value", offset: parser.position)
    }
    repairedText = parser.repairedText
    return value
  }

  public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
    var copy = text
    let result = copy.withUTF8 { buffer in
      Result { () throws(JSONSyntaxError) in try parse(UnsafeRawBufferPointer(buffer)) }
    }
    return try result.get()
  }

  init(bytes: UnsafeRawBufferPointer, position: Int) {
    self.bytes = bytes
    self.position = position
  }

  /// Skips white space and a UTF-8 byte-order mark.
  mutating func skipWhitespace() {
    if position == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x0A, 0x0D, 0x09: position += 1
      default: return
      }
    }
  }

  var isAtEnd: Bool { position >= bytes.count }
  var currentByte: UInt8? { position < bytes.count ? bytes[position] : nil }

  mutating func parseNextValue() throws(JSONSyntaxError) -> JSONValue {
    skipWhitespace()
    return try parseValue(depth: 0)
  }

  mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
    skipWhitespace()
    guard position < bytes.count else {
      throw error("the text ends early; expected '\(Character(Unicode.Scalar(byte)))'")
    }
    guard bytes[position] == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
    position += 1
  }

  private func error(_ message: String) -> JSONSyntaxError {
    JSONSyntaxError(message: message, offset: position)
  }

  private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard position < bytes.count else { throw error("the text ends where a value was expected") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try parseLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw error("unexpected character where a value was expected")
    }
  }

  private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    position += 1
    var members: [String: JSONValue] = [:]
    skipWhitespace()
    if currentByte == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard currentByte == UInt8(ascii: "\"") else { throw error("expected a quoted member name") }
      let key = try parseString()
      try expect(UInt8(ascii: ":"))
      skipWhitespace()
      members[key] = try parseValue(depth: depth)
      skipWhitespace()
      guard let next = currentByte else { throw error("the text ends inside an object") }
      position += 1
      if next == UInt8(ascii: "}") { return .object(members) }
      guard next == UInt8(ascii: ",") else {
        position -= 1
        throw error("expected ',' or '}' in an object")
      }
    }
  }

  private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if currentByte == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth))
      skipWhitespace()
      guard let next = currentByte else { throw error("the text ends inside an array") }
      position += 1
      if next == UInt8(ascii: "]") { return .array(elements) }
      guard next == UInt8(ascii: ",") else {
        position -= 1
        throw error("expected ',' or ']' in an array")
      }
    }
  }

  private mutating func parseLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
    let count = literal.utf8CodeUnitCount
    guard position + count <= bytes.count else { throw error("the text ends inside a literal") }
    for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] {
      throw error("unknown literal")
    }
    position += count
  }

  private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
    let start = position
    while position < bytes.count, Self.isNumberByte(bytes[position]) { position += 1 }
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    guard let value = Double(text) else {
      position = start
      throw error("malformed number")
    }
    return value
  }

  private static func isNumberByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
      UInt8(ascii: "e"), UInt8(ascii: "E"):
      return true
    default:
      return false
    }
  }

  private mutating func parseString() throws(JSONSyntaxError) -> String {
    position += 1  // opening quote
    let start = position
    // Fast path: no escapes, the common case for ids and most text.
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let text = makeString(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        position += 1
        return text
      }
      if byte == UInt8(ascii: "\\") { break }
      position += 1
    }
    guard position < bytes.count else { throw JSONSyntaxError(message: "unterminated string", offset: start - 1) }
    var scratch: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        position += 1
        return scratch.withUnsafeBytes { makeString($0) }
      }
      if byte != UInt8(ascii: "\\") {
        scratch.append(byte)
        position += 1
        continue
      }
      position += 1
      guard position < bytes.count else { break }
      let escape = bytes[position]
      position += 1
      switch escape {
      case UInt8(ascii: "\""): scratch.append(0x22)
      case UInt8(ascii: "\\"): scratch.append(0x5C)
      case UInt8(ascii: "/"): scratch.append(0x2F)
      case UInt8(ascii: "b"): scratch.append(0x08)
      case UInt8(ascii: "f"): scratch.append(0x0C)
      case UInt8(ascii: "n"): scratch.append(0x0A)
      case UInt8(ascii: "r"): scratch.append(0x0D)
      case UInt8(ascii: "t"): scratch.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try parseHexQuad()
        if (0xD800...0xDBFF).contains(scalar), position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
          bytes[position + 1] == UInt8(ascii: "u")
        {
          let save = position
          position += 2
          let low = try parseHexQuad()
          if (0xDC00...0xDFFF).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            position = save
          }
        }
        // A lone surrogate cannot be represented; it becomes U+FFFD like any invalid text.
        let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        scratch.append(contentsOf: Array(String(character).utf8))
      default:
        throw JSONSyntaxError(message: "invalid escape in string", offset: position - 2)
      }
    }
    throw JSONSyntaxError(message: "unterminated string", offset: start - 1)
  }

  /// Decodes UTF-8, replacing invalid sequences (and noting that it did).
  private mutating func makeString(_ raw: UnsafeRawBufferPointer) -> String {
    if let valid = String(validating: raw, as: UTF8.self) { return valid }
    repairedText = true
    return String(decoding: raw, as: UTF8.self)
  }

  private mutating func parseHexQuad() throws(JSONSyntaxError) -> UInt32 {
    guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 0x30)
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 0x61 + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 0x41 + 10)
      default: throw error("invalid \\u escape")
      }
      value = value << 4 | digit
      position += 1
    }
    return value
  }
}
