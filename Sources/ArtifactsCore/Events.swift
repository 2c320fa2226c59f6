// The library never prints. Everything a user might want to see while work happens is an event
// handed to an injected sink; the command line decides how (or whether) to show it.

/// A problem with one piece of input that was reported and skipped; the run goes on.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
  public enum Severity: String, Sendable, Codable { case warning, error }

  public var severity: Severity
  public var message: String
  /// The file (and line) concerned, when there is one.
  public var location: LogLocation?

  public init(_ severity: Severity, _ message: String, at location: LogLocation? = nil) {
    self.severity = severity
    self.message = message
    self.location = location
  }

  public var description: String {
    if let location { return "\(location): \(message)" }
    return message
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
  case lost(file: ContainerFileRef, filename: String, reason: String)
  case failed(file: ContainerFileRef, filename: String, reason: String)
  /// A container the API says is gone, with the files still waiting in it.
  case containerGone(containerID: String, files: Int, reason: String)
  /// A container refreshed so its waiting files are not lost.
  case keptAlive(containerID: String, secondsLeft: Double, waitingFiles: Int)
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
