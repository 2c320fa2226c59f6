/// The shape of a log, detected from its first bytes (after inflating gzip).
public enum LogFormat: String, Sendable, Codable {
  /// One JSON document: a response, a wrapped response, an output item, or an array of them.
  case jsonDocument = "json"
  /// One JSON value per line (responses, wrapped responses, batch output, or stream events).
  case jsonLines = "jsonl"
  /// A captured server-sent-event stream (`event:` / `data:` lines).
  case eventStream = "sse"
  case empty
  case unrecognized
}

/// What the catalog remembers about a log so the next scan can skip it (unchanged: one
/// `stat`) or resume it (an appended JSON Lines log is read from where the last scan stopped).
public struct LogCheckpoint: Sendable, Codable, Equatable {
  public var device: UInt64
  public var inode: UInt64
  public var size: Int64
  public var modifiedNanoseconds: Int64
  /// `"<n>:<hash>"`: a hash of the first n bytes, telling an appended file from a rewritten one.
  public var headFingerprint: String
  /// Decompressed bytes up to the end of the last complete record.
  public var bytesConsumed: Int64
  /// Lines up to the same point, so resumed scans number lines correctly.
  public var linesConsumed: Int
  public var format: LogFormat
  public var compressed: Bool
  /// For a stream of events: the response its events belong to.
  public var streamResponse: ResponseInfo?

  public init(
    device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64, headFingerprint: String,
    bytesConsumed: Int64, linesConsumed: Int, format: LogFormat, compressed: Bool, streamResponse: ResponseInfo?
  ) {
    self.device = device
    self.inode = inode
    self.size = size
    self.modifiedNanoseconds = modifiedNanoseconds
    self.headFingerprint = headFingerprint
    self.bytesConsumed = bytesConsumed
    self.linesConsumed = linesConsumed
    self.format = format
    self.compressed = compressed
    self.streamResponse = streamResponse
  }
}

/// What `stat` says identifies a version of a log file: the same values mean the same bytes.
public struct LogFileIdentity: Sendable, Hashable {
  public var device: UInt64
  public var inode: UInt64
  public var size: Int64
  public var modifiedNanoseconds: Int64

  public init(device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64) {
    self.device = device
    self.inode = inode
    self.size = size
    self.modifiedNanoseconds = modifiedNanoseconds
  }
}

extension LogCheckpoint {
  public var identity: LogFileIdentity {
    LogFileIdentity(device: device, inode: inode, size: size, modifiedNanoseconds: modifiedNanoseconds)
  }
}

/// An image the Code Interpreter displayed, carried inside the log as a `data:` URL
/// (`code_interpreter_call.outputs[].url`): its bytes are archived straight from the log.
public struct InlineImage: Sendable, Hashable {
  public var containerID: String
  public var callID: String
  /// Index in the call's `outputs`.
  public var outputIndex: Int
  public var mediaType: String
  public var bytes: [UInt8]
  public var response: ResponseInfo?
  public var location: LogLocation

  public init(
    containerID: String, callID: String, outputIndex: Int, mediaType: String, bytes: [UInt8], response: ResponseInfo?,
    location: LogLocation
  ) {
    self.containerID = containerID
    self.callID = callID
    self.outputIndex = outputIndex
    self.mediaType = mediaType
    self.bytes = bytes
    self.response = response
    self.location = location
  }

  /// The id it is catalogued under in its container (it has no `cfile_` id of its own).
  public var fileID: String { "\(callID)#output\(outputIndex)" }

  /// A readable name: the call id and the output index, with the type's extension.
  public var filename: String {
    let ext = mediaType.split(separator: "/").last.map { $0 == "jpeg" ? "jpg" : String($0) } ?? "bin"
    return "\(callID)-output\(outputIndex).\(ext.filter { $0.isLetter || $0.isNumber })"
  }
}
