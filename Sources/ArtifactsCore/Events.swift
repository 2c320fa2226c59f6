// The library never prints. Everything a user might want to see while work happens is an event
// handed to an injected sink; the command line decides how (or whether) to show it.

/// A problem with one piece of input that was reported and skipped; the run goes on.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
  public enum Severity: String, Sendable, Codable { case warning, error }

  public var severity: Severity
  public var message: String
  /// The file concerned: every diagnostic names one, so a user knows which input to look at.
  public var file: String
  /// The line concerned, when the problem is one record's rather than the whole file's.
  public var line: Int?

  /// A problem with one record: its file and line.
  public init(_ severity: Severity, _ message: String, at location: LogLocation) {
    self.severity = severity
    self.message = message
    self.file = location.path
    self.line = location.line
  }

  /// A problem with a whole file (empty, unreadable, not a log).
  public init(_ severity: Severity, _ message: String, file: String) {
    self.severity = severity
    self.message = message
    self.file = file
    self.line = nil
  }

  public var location: LogLocation? { line.map { LogLocation(path: file, line: $0) } }
  /// About the file as a whole rather than one of its records.
  public var isFileLevel: Bool { line == nil }

  public var description: String {
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }
}

/// Things that happen during a sync, in the order they happen.
public enum SyncEvent: Sendable {
  /// Scanning starts: how many logs there are to look at.
  case scanPlanned(logs: Int)
  case diagnostic(Diagnostic)
  case logScanned(path: String, records: Int, citations: Int, skipped: Int, unchanged: Bool)
  case downloadPlanned(files: Int)
  case downloaded(file: ContainerFileRef, filename: String, digest: Digest, size: Int64, deduplicated: Bool)
  case retrying(file: ContainerFileRef, attempt: Int, reason: String, delaySeconds: Double)
  case lost(file: ContainerFileRef, filename: String, reason: UnarchivedReason)
  case failed(file: ContainerFileRef, filename: String, reason: UnarchivedReason)
  /// A container the API says is gone, with the files still waiting in it.
  case containerGone(containerID: String, files: Int, reason: String)
  /// A container refreshed so its waiting files are not lost.
  case keptAlive(containerID: String, secondsLeft: Double, waitingFiles: Int)
  /// A container's status as the API gave it: alive, with this long to live unless used again.
  case containerAlive(containerID: String, secondsLeft: Double)
  /// A watcher is following `logs` logs in `folders` folders (`polled` of them without
  /// inotify); said when it starts and whenever those numbers change.
  case watching(logs: Int, folders: Int, polled: Int)
  /// Files found by listing a container that no citation names.
  case uncitedFound(containerID: String, files: Int)
  /// Containers whose files still wait and that have less than a third of their lifetime
  /// left, and the time to the nearest deadline among all waiting containers.
  case risk(containersAtRisk: Int, secondsToNearestDeadline: Double?)
}

/// Receives events from any thread; implementations must be cheap and thread-safe.
public protocol EventSink: Sendable {
  func emit(_ event: SyncEvent)
}
