// Everything the CLI writes goes through here: colour only on a terminal (and never with
// NO_COLOR or --color never), diagnostics on stderr, results on stdout.
import ArtifactsCore
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

final class Terminal: Sendable {
  let stdoutIsTerminal: Bool
  let stderrIsTerminal: Bool
  let colors: Bool
  let quiet: Bool
  let verbose: Bool
  /// Held while a block is written, so lines from several tasks never interleave.
  private let writing = Mutex(())
  private let hook = Mutex<(@Sendable () -> Void)?>(nil)
  /// Called before any line is printed (a live status line erases itself).
  var beforeMessage: (@Sendable () -> Void)? {
    get { hook.withLock { $0 } }
    set { hook.withLock { $0 = newValue } }
  }

  init(options: GlobalOptions, environment: [String: String] = ProcessInfo.processInfo.environment) {
    stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
    stderrIsTerminal = isatty(STDERR_FILENO) == 1
    switch options.color {
    case .always: colors = true
    case .never: colors = false
    case .auto: colors = stderrIsTerminal && stdoutIsTerminal && environment["NO_COLOR"].map(\.isEmpty) ?? true
    }
    quiet = options.quiet
    verbose = options.verbose
  }

  enum Style: String {
    case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", cyan = "36"
  }

  func styled(_ text: String, _ style: Style) -> String {
    colors ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
  }

  func out(_ line: String) {
    beforeMessage?()
    write(line + "\n")
  }

  /// Lines handed over one at a time, written in large blocks (under the terminal's lock,
  /// as every result is); `finish` writes the rest.
  final class Blocks: Sendable {
    private let terminal: Terminal
    private let separator: String
    private let block = Mutex("")

    fileprivate init(_ terminal: Terminal, separator: String) {
      self.terminal = terminal
      self.separator = separator
      block.withLock { $0.reserveCapacity(1 << 16) }
    }

    func add(_ line: String) {
      block.withLock { block in
        block += line
        block += separator
        if block.utf8.count >= 1 << 16 {
          terminal.write(block)
          block.removeAll(keepingCapacity: true)
        }
      }
    }

    func finish() {
      block.withLock { block in
        if !block.isEmpty { terminal.write(block) }
        block = ""
      }
    }
  }

  /// Results written as they come, `separator` after each (a newline, or NUL for `-0`).
  func blocks(separator: String = "\n") -> Blocks { Blocks(self, separator: separator) }

  fileprivate func write(_ text: String) {
    writing.withLock { _ in FileHandle.standardOutput.write(Data(text.utf8)) }
  }

  /// Many lines at once, written in large blocks (a line per system call is slow for big results).
  func out<Lines: Sequence<String>>(lines: Lines) {
    let output = blocks()
    for line in lines { output.add(line) }
    output.finish()
  }

  func err(_ line: String) {
    beforeMessage?()
    writing.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
  }

  func error(_ message: String) {
    err("\(styled("error:", .red)) \(message)")
  }

  func warning(_ message: String) {
    guard !quiet else { return }
    err("\(styled("warning:", .yellow)) \(message)")
  }
}

enum Format {
  /// 1.5 KiB, 20 MiB.
  static func bytes(_ count: Int64) -> String { ByteCount.text(count) }

  /// 42 s, 3 min 20 s, 2 h 5 min.
  static func duration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    if total < 60 { return "\(total) s" }
    if total < 3600 { return "\(total / 60) min \(total % 60) s" }
    return "\(total / 3600) h \(total % 3600 / 60) min"
  }

  /// `2026-11-26 04:23` in UTC. Called once per table row: no formatter object per call.
  static func date(unixSeconds: Int64?) -> String {
    guard let unixSeconds else { return "-" }
    var time = time_t(unixSeconds)
    var parts = tm()
    guard gmtime_r(&time, &parts) != nil else { return "-" }
    return String(
      format: "%04d-%02d-%02d %02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
      Int(parts.tm_hour), Int(parts.tm_min))
  }

  /// Left-aligned columns sized to their widest cell; the last column is not padded.
  static func table(_ rows: [[String]]) -> [String] {
    guard let columns = rows.map(\.count).max() else { return [] }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
      row.enumerated().map { index, cell in
        index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }
  }

  /// Names from logs may hold control characters (a newline, an escape sequence that would
  /// recolour the terminal); tables show them escaped.
  static func printable(_ text: String) -> String {
    var output = ""
    for scalar in text.unicodeScalars {
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator:
        output += scalar.escaped(asASCII: true)
      default:
        output.unicodeScalars.append(scalar)
      }
    }
    return output
  }

  static func jsonLine<T: Encodable>(_ value: T) -> String {
    jsonLines([value]).first ?? "{}"
  }

  /// One compact JSON object per value, with sorted snake_case keys (one encoder for all).
  static func jsonLines<T: Encodable>(_ values: [T]) -> [String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return values.map { value in
      guard let data = try? encoder.encode(value) else { return "{}" }
      return String(decoding: data, as: UTF8.self)
    }
  }
}
