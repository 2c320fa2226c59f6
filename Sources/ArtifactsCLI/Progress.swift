// A one-line progress display on stderr, redrawn in place; only on a terminal, never with
// --quiet, and cleared when the work ends.
import Foundation
import Synchronization

final class Progress: Sendable {
  private let terminal: Terminal
  private let label: String
  private let enabled: Bool
  private let started = Date()
  private struct Drawing {
    var lastDraw = Date.distantPast
    var drawn = false
  }
  private let drawing = Mutex(Drawing())

  init(terminal: Terminal, label: String) {
    self.terminal = terminal
    self.label = label
    enabled = terminal.stderrIsTerminal && !terminal.quiet
  }

  func update(_ done: Int64, _ total: Int64) {
    guard enabled else { return }
    drawing.withLock { drawing in
      let now = Date()
      guard now.timeIntervalSince(drawing.lastDraw) >= 0.1 || done == total else { return }
      drawing.lastDraw = now
      let elapsed = max(now.timeIntervalSince(started), 0.001)
      let rate = Double(done) / elapsed
      let percent = total > 0 ? Int(Double(done) * 100 / Double(total)) : 100
      var line = "\(label) \(percent)%  \(Format.bytes(done)) of \(Format.bytes(total))  \(Format.bytes(Int64(rate)))/s"
      if rate > 0, total > done { line += "  ETA \(Format.duration(Double(total - done) / rate))" }
      FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
      drawing.drawn = true
    }
  }

  func clear() {
    drawing.withLock { drawing in
      guard drawing.drawn else { return }
      FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
      drawing.drawn = false
    }
  }
}
