// Shows a sync as it happens: warnings and losses on stderr for people, or one JSON object per
// event on stdout for programs (`--json`), ending with the summary.
import ArtifactsCore
import ArtifactsKit
import Foundation
import Synchronization

final class SyncEventPrinter: EventSink {
  private let terminal: Terminal
  private let json: Bool
  private let status: SyncStatusLine?

  init(terminal: Terminal, json: Bool) {
    self.terminal = terminal
    self.json = json
    // Live progress only for a person watching a terminal.
    status = !json && terminal.stderrIsTerminal && !terminal.quiet ? SyncStatusLine(terminal: terminal) : nil
    if let status { terminal.beforeMessage = { status.clearForMessage() } }
  }

  /// One JSON Lines event. Field names are part of the command-line contract (README).
  struct Event: Encodable {
    var event: String
    var log: String?
    var line: Int?
    var message: String?
    var records: Int?
    var citations: Int?
    var skipped: Int?
    var files: Int?
    var containerId: String?
    var fileId: String?
    var filename: String?
    var sha256: String?
    var size: Int64?
    var deduplicated: Bool?
    var attempt: Int?
    var delaySeconds: Double?
    var reason: String?
    var reasonKind: String?
    var secondsLeft: Double?
    var logs: Int?
    var folders: Int?
    var polled: Int?

    init(_ event: String) { self.event = event }
  }

  func emit(_ event: SyncEvent) {
    if json {
      if case .risk = event { return }  // a periodic reading, not an event worth a line
      terminal.out(Format.jsonLine(Self.jsonEvent(event)))
      return
    }
    status?.record(event)
    defer { status?.draw() }
    switch event {
    case .scanPlanned, .risk, .containerAlive:
      break
    case .watching(let logs, let folders, let polled):
      if status == nil && !terminal.quiet {
        terminal.err(
          "watching \(logs) log\(logs == 1 ? "" : "s") in \(folders + polled) folder\(folders + polled == 1 ? "" : "s")"
            + (polled > 0 ? " (\(polled) polled)" : "") + "; SIGINT or SIGTERM stops")
      }
    case .diagnostic(let diagnostic):
      if diagnostic.severity == .error {
        terminal.error(diagnostic.description)
      } else {
        terminal.warning(diagnostic.description)
      }
    case .logScanned(let path, let records, let citations, let skipped, _):
      if terminal.verbose {
        terminal.err(
          "scanned \(path): \(records) records, \(citations) citations\(skipped > 0 ? ", \(skipped) skipped" : "")")
      }
    case .downloadPlanned(let files):
      if !terminal.quiet && status == nil { terminal.err("downloading \(files) file\(files == 1 ? "" : "s")…") }
    case .downloaded(let file, let filename, let digest, let size, let deduplicated):
      if terminal.verbose {
        terminal.err(
          "\(terminal.styled("archived", .green)) \(filename) (\(file.fileID), \(Format.bytes(size)), \(digest.short))\(deduplicated ? " — same content already stored" : "")"
        )
      }
    case .retrying(let file, let attempt, let reason, let delay):
      if terminal.verbose {
        terminal.err("retrying \(file.fileID) (attempt \(attempt) in \(String(format: "%.1f", delay)) s): \(reason)")
      }
    case .lost(let file, let filename, let reason), .failed(let file, let filename, let reason):
      // The summary lists every file that could not be archived; as it happens, only on request.
      if terminal.verbose {
        let word = if case .lost = event { "lost" } else { "failed" }
        terminal.err("\(terminal.styled(word, .red)) \(filename) (\(file)): \(reason)")
      }
    case .containerGone(let container, let files, let reason):
      terminal.err(
        "\(terminal.styled("lost", .red)) container \(container): \(reason); its \(files) waiting file\(files == 1 ? " is" : "s are") lost"
      )
    case .keptAlive(let container, let secondsLeft, let waiting):
      if terminal.verbose {
        terminal.err("kept \(container) alive (\(Format.duration(max(0, secondsLeft))) left, \(waiting) files waiting)")
      }
    case .uncitedFound(let container, let files):
      if !terminal.quiet {
        terminal.err("found \(files) file\(files == 1 ? "" : "s") no citation names in \(container)")
      }
    }
  }

  static func jsonEvent(_ event: SyncEvent) -> Event {
    switch event {
    case .scanPlanned(let logs):
      var record = Event("scan_plan")
      record.files = logs
      return record
    case .risk(let containers, let seconds):
      var record = Event("risk")
      record.files = containers
      record.secondsLeft = seconds
      return record
    case .diagnostic(let diagnostic):
      var record = Event(diagnostic.severity == .error ? "error" : "warning")
      record.message = diagnostic.message
      record.log = diagnostic.file
      record.line = diagnostic.line
      return record
    case .logScanned(let path, let records, let citations, let skipped, _):
      var record = Event("scan")
      record.log = path
      record.records = records
      record.citations = citations
      record.skipped = skipped
      return record
    case .downloadPlanned(let files):
      var record = Event("plan")
      record.files = files
      return record
    case .downloaded(let file, let filename, let digest, let size, let deduplicated):
      var record = Event("download")
      record.containerId = file.containerID
      record.fileId = file.fileID
      record.filename = filename
      record.sha256 = digest.hex
      record.size = size
      record.deduplicated = deduplicated
      return record
    case .retrying(let file, let attempt, let reason, let delay):
      var record = Event("retry")
      record.containerId = file.containerID
      record.fileId = file.fileID
      record.attempt = attempt
      record.reason = reason
      record.delaySeconds = (delay * 1000).rounded() / 1000
      return record
    case .lost(let file, let filename, let reason), .failed(let file, let filename, let reason):
      var record: Event
      if case .lost = event { record = Event("lost") } else { record = Event("failed") }
      record.containerId = file.containerID
      record.fileId = file.fileID
      record.filename = filename
      record.reason = reason.message
      record.reasonKind = reason.kind.rawValue
      return record
    case .containerGone(let container, let files, let reason):
      var record = Event("container_gone")
      record.containerId = container
      record.files = files
      record.reason = reason
      return record
    case .keptAlive(let container, let secondsLeft, let waiting):
      var record = Event("keepalive")
      record.containerId = container
      record.secondsLeft = (secondsLeft * 1000).rounded() / 1000
      record.files = waiting
      return record
    case .uncitedFound(let container, let files):
      var record = Event("uncited")
      record.containerId = container
      record.files = files
      return record
    case .containerAlive(let container, let secondsLeft):
      var record = Event("container")
      record.containerId = container
      record.secondsLeft = (secondsLeft * 1000).rounded() / 1000
      return record
    case .watching(let logs, let folders, let polled):
      var record = Event("watching")
      record.logs = logs
      record.folders = folders
      record.polled = polled
      return record
    }
  }

  /// A signal asked a watch to stop.
  func stopping() {
    guard !json && !terminal.quiet else { return }
    status?.clearForMessage()
    terminal.err("stopping: transfers under way get a few seconds to finish (signal again to quit at once)")
  }

  /// A run that could not go on.
  func fatal(_ message: String) {
    status?.stop()
    status?.clearForMessage()
    guard json else { return }  // the CLI prints the error line itself
    var record = Event("error")
    record.message = message
    terminal.out(Format.jsonLine(record))
  }

  struct SummaryEvent: Encodable {
    var event = "summary"
    var summary: SyncSummary
    var dryRun: Bool

    func encode(to encoder: any Encoder) throws {
      // Flatten: {"event": "summary", "logs_scanned": …, …}
      try summary.encode(to: encoder)
      var container = encoder.container(keyedBy: Keys.self)
      try container.encode(event, forKey: .event)
      try container.encode(dryRun, forKey: .dryRun)
    }

    enum Keys: String, CodingKey { case event, dryRun }
  }

  func finish(_ summary: SyncSummary, dryRun: Bool) {
    status?.stop()
    status?.clearForMessage()
    if json {
      terminal.out(Format.jsonLine(SummaryEvent(summary: summary, dryRun: dryRun)))
      return
    }
    var lines: [String] = []
    lines.append(
      "Scanned \(summary.logsScanned) log\(summary.logsScanned == 1 ? "" : "s")"
        + (summary.logsUnchanged > 0 ? " (\(summary.logsUnchanged) unchanged since the last sync)" : "")
        + (summary.logsSkipped > 0
          ? ", \(summary.logsSkipped) skipped as unreadable or not a log" : "")
        + ": \(summary.records) records"
        + (summary.skippedRecords > 0 ? ", \(summary.skippedRecords) skipped" : "")
        + (summary.warnings > 0 ? ", \(summary.warnings) warning\(summary.warnings == 1 ? "" : "s")" : ""))
    lines.append(
      "Citations: \(summary.citationsFound) found (\(summary.newCitations) new), naming \(summary.filesCited) file\(summary.filesCited == 1 ? "" : "s")"
    )
    let rows: [[String]] =
      [
        [
          "archived", "\(summary.archived)",
          summary.archived > 0 ? "downloaded now, \(Format.bytes(summary.bytesDownloaded))" : "",
        ],
        ["deduplicated", "\(summary.deduplicated)", summary.deduplicated > 0 ? "content was already stored" : ""],
        ["already archived", "\(summary.alreadyArchived)", ""],
      ] + (summary.uncitedFound > 0 ? [["uncited", "\(summary.uncitedFound)", "found by listing containers"]] : []) + []
      + (summary.inlineImages > 0 ? [["from the logs", "\(summary.inlineImages)", "images embedded in the logs"]] : [])
      + [
        ["lost", "\(summary.lost)", summary.lost > 0 ? "gone from their container" : ""],
        ["failed", "\(summary.failed)", summary.failed > 0 ? "will be retried by the next sync" : ""],
      ]
      + (summary.pending > 0
        ? [["pending", "\(summary.pending)", dryRun ? "dry run: nothing downloaded" : "not attempted"]] : [])
    lines.append(contentsOf: Format.table(rows).map { "  " + $0 })
    var notes: [String] = []
    if summary.containersAtRisk > 0 {
      notes.append(
        "\(summary.containersAtRisk) container\(summary.containersAtRisk == 1 ? " was" : "s were") close to expiring")
    }
    if summary.keepAlives > 0 {
      notes.append("kept containers alive \(summary.keepAlives) time\(summary.keepAlives == 1 ? "" : "s")")
    }
    if summary.containersGone > 0 {
      notes.append(
        "\(summary.containersGone) container\(summary.containersGone == 1 ? " had" : "s had") already expired")
    }
    if !notes.isEmpty { lines.append("  " + notes.joined(separator: "; ")) }
    if summary.archived == 0 && summary.lost == 0 && summary.failed == 0 && summary.pending == 0 {
      lines.append("Nothing new to download.")
    }
    for file in summary.unarchived {
      lines.append(
        "  \(terminal.styled(file.state.rawValue, .red)) \(Format.printable(file.filename)) (\(file.containerID)/\(file.fileID)): \(file.reason)"
      )
    }
    if summary.unarchivedNotListed > 0 {
      lines.append(
        "  … and \(summary.unarchivedNotListed) more (artifacts find --state lost --state failed lists them all)")
    }
    for line in lines { terminal.out(line) }
  }
}

/// The line a person watches during `sync`: what is being scanned or downloaded, how fast, how
/// long is left, and whether containers are close to expiring. Redrawn in place on stderr at
/// most ten times a second, and erased before any other message and at the end.
final class SyncStatusLine: Sendable {
  private let terminal: Terminal
  private struct State {
    var logsTotal = 0
    var logsDone = 0
    var filesTotal = 0
    var filesDone = 0
    var bytes: Int64 = 0
    var downloadStarted: Date?
    var atRisk = 0
    var nearestDeadline: Double?
    /// Once a watch follows the logs: what it follows, what it archived, which containers live.
    var watchedLogs: Int?
    var archived = 0
    var lastArchived: String?
    var aliveUntil: [String: Date] = [:]
    var lastDraw = Date.distantPast
    var visible = false
    var stopped = false
    var redrawScheduled = false
  }
  private let state = Mutex(State())

  init(terminal: Terminal) {
    self.terminal = terminal
  }

  func record(_ event: SyncEvent) {
    state.withLock { state in
      switch event {
      case .scanPlanned(let logs): state.logsTotal = logs
      case .logScanned: state.logsDone += 1
      case .downloadPlanned(let files):
        state.filesTotal += files
        state.downloadStarted = state.downloadStarted ?? Date()
      case .uncitedFound(_, let files): state.filesTotal += files
      case .downloaded(_, let filename, _, let size, _):
        state.filesDone += 1
        state.bytes += size
        state.archived += 1
        state.lastArchived = filename
      case .watching(let logs, _, _):
        state.watchedLogs = logs
      case .containerAlive(let id, let secondsLeft):
        state.aliveUntil[id] = Date().addingTimeInterval(secondsLeft)
      case .containerGone(let id, _, _):
        state.aliveUntil[id] = nil
      case .lost, .failed: state.filesDone += 1
      case .risk(let containers, let seconds):
        state.atRisk = containers
        state.nearestDeadline = seconds
      default: break
      }
    }
  }

  /// The current line, or nil when there is nothing to show yet.
  func text(now: Date = Date()) -> String? {
    state.withLock { state in
      if let logs = state.watchedLogs {
        state.aliveUntil = state.aliveUntil.filter { $0.value > now }
        var line = "watching \(logs) log\(logs == 1 ? "" : "s") · \(state.archived) archived"
        if let last = state.lastArchived { line += ", last \(Format.printable(last))" }
        line += " · \(state.aliveUntil.count) container\(state.aliveUntil.count == 1 ? "" : "s") alive"
        if state.filesDone < state.filesTotal { line += " · \(state.filesTotal - state.filesDone) waiting" }
        return line
      }
      if let started = state.downloadStarted {
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(state.bytes) / elapsed
        var line =
          "downloading \(state.filesDone)/\(state.filesTotal) files, \(Format.bytes(state.bytes)), \(Format.bytes(Int64(rate)))/s"
        if state.filesDone > 0 && state.filesDone < state.filesTotal {
          let remaining = elapsed / Double(state.filesDone) * Double(state.filesTotal - state.filesDone)
          line += ", ETA \(Format.duration(remaining))"
        }
        if state.atRisk > 0 {
          line += " · \(state.atRisk) container\(state.atRisk == 1 ? "" : "s") at risk"
        }
        if let nearest = state.nearestDeadline {
          line += " · nearest expiry in \(Format.duration(max(0, nearest)))"
        }
        return line
      }
      guard state.logsTotal > 0 else { return nil }
      return "scanning logs \(state.logsDone)/\(state.logsTotal)"
    }
  }

  func draw() {
    let now = Date()
    let (due, later): (Bool, Bool) = state.withLock { state in
      guard !state.stopped else { return (false, false) }
      guard now.timeIntervalSince(state.lastDraw) >= 0.1 else {
        // Too soon: drawn once the tenth of a second is up, so the line never stays behind
        // the last event (a watch may then be quiet for hours).
        defer { state.redrawScheduled = true }
        return (false, !state.redrawScheduled)
      }
      state.lastDraw = now
      return (true, false)
    }
    if later {
      DispatchQueue.global().asyncAfter(deadline: .now() + 0.11) { [self] in
        state.withLock { $0.redrawScheduled = false }
        draw()
      }
    }
    guard due, let text = text(now: now) else { return }
    state.withLock { state in
      state.visible = true
      FileHandle.standardError.write(Data("\r\u{1B}[2K\(terminal.styled(text, .dim))".utf8))
    }
  }

  /// Erases the line so a message can be printed; the next event draws it again.
  func clearForMessage() {
    state.withLock { state in
      guard state.visible else { return }
      FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
      state.visible = false
      state.lastDraw = .distantPast
    }
  }

  func stop() {
    state.withLock { $0.stopped = true }
  }
}
