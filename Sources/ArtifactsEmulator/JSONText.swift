// The emulator's JSON writer, for the trees its answers are built from: strings, integers,
// doubles, booleans, NSNull, arrays and objects (keys sorted, as `.sortedKeys` wrote them).
// With JSONSerialization, a request for a page of 50 files cost the emulator 1.75 ms of CPU on
// Linux, some 20 times a file's download (0.35 ms with this writer); in a benchmark the
// emulator shares the client's two cores, so the client under test was charged for it (0.35 s
// of a 10,000-file sync).
import Foundation

enum JSONText {
  static func encode(_ value: Any) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(1024)
    write(value, into: &out)
    return out
  }

  private static func write(_ value: Any, into out: inout [UInt8]) {
    switch value {
    case let string as String:
      writeString(string, into: &out)
    case let bool as Bool:
      out.append(contentsOf: (bool ? "true" : "false").utf8)
    case let integer as Int:
      out.append(contentsOf: String(integer).utf8)
    case let integer as Int64:
      out.append(contentsOf: String(integer).utf8)
    case let integer as Int32:
      out.append(contentsOf: String(integer).utf8)
    case let number as Double:
      // JSON has no NaN or infinities; the emulator never makes them.
      out.append(contentsOf: (number.isFinite ? "\(number)" : "null").utf8)
    case is NSNull:
      out.append(contentsOf: "null".utf8)
    case let array as [Any]:
      out.append(UInt8(ascii: "["))
      for (index, element) in array.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        write(element, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case let object as [String: Any]:
      out.append(UInt8(ascii: "{"))
      for (index, key) in object.keys.sorted().enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(object[key]!, into: &out)
      }
      out.append(UInt8(ascii: "}"))
    default:
      // An optional that reached here wrapped in Any: its value, or null.
      let mirror = Mirror(reflecting: value)
      if mirror.displayStyle == .optional {
        if let wrapped = mirror.children.first?.value {
          write(wrapped, into: &out)
        } else {
          out.append(contentsOf: "null".utf8)
        }
      } else {
        writeString("\(value)", into: &out)
      }
    }
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  private static func writeString(_ string: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in string.utf8 {
      switch byte {
      case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
      case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
      case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
      case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
      case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
      case 0..<0x20:
        out.append(contentsOf: Array("\\u00".utf8))
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0xF)])
      default: out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
  }
}
