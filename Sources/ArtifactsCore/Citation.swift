/// What a log says about the response that carried a citation.
public struct ResponseInfo: Hashable, Sendable, Codable {
  public var id: String
  /// Unix seconds, as the API reports it.
  public var createdAt: Int64?
  public var model: String?
  public var status: String?
  public var previousResponseID: String?

  public init(
    id: String, createdAt: Int64? = nil, model: String? = nil, status: String? = nil,
    previousResponseID: String? = nil
  ) {
    self.id = id
    self.createdAt = createdAt
    self.model = model
    self.status = status
    self.previousResponseID = previousResponseID
  }
}

/// Where in a log a record was read: the file and the 1-based line (for formats without lines,
/// the line the record starts on).
public struct LogLocation: Hashable, Sendable, Codable, CustomStringConvertible {
  public var path: String
  public var line: Int

  public init(path: String, line: Int) {
    self.path = path
    self.line = line
  }

  public var description: String { "\(path):\(line)" }
}

/// One `container_file_citation` annotation with everything needed to trace it back.
public struct Citation: Hashable, Sendable, Codable {
  public var file: ContainerFileRef
  public var filename: String
  public var startIndex: Int
  public var endIndex: Int
  /// `text[startIndex..<endIndex]` counted in Unicode scalars; nil when the text was not in the
  /// record (a streamed `annotation.added` event) or the span did not fit the text.
  public var citedText: String?
  public var response: ResponseInfo?
  /// The message output item (`msg_…`) holding the annotation, when known.
  public var itemID: String?
  public var outputIndex: Int?
  public var contentIndex: Int?
  public var annotationIndex: Int?
  public var location: LogLocation

  public init(
    file: ContainerFileRef, filename: String, startIndex: Int, endIndex: Int, citedText: String?,
    response: ResponseInfo?, itemID: String?, outputIndex: Int?, contentIndex: Int?, annotationIndex: Int?,
    location: LogLocation
  ) {
    self.file = file
    self.filename = filename
    self.startIndex = startIndex
    self.endIndex = endIndex
    self.citedText = citedText
    self.response = response
    self.itemID = itemID
    self.outputIndex = outputIndex
    self.contentIndex = contentIndex
    self.annotationIndex = annotationIndex
    self.location = location
  }

  /// Identifies the annotation itself, so the same citation repeated by later stream events, a
  /// re-logged response or a rescanned log is recorded once. Without a response id the log
  /// position stands in for it.
  public var identity: String {
    let owner = response?.id ?? "\(location.path)#\(location.line)"
    let item = itemID ?? outputIndex.map { "#\($0)" } ?? "-"
    let content = contentIndex.map(String.init) ?? "-"
    let annotation = annotationIndex.map(String.init) ?? "-"
    return "\(owner)|\(item)|\(content)|\(annotation)|\(file.containerID)|\(file.fileID)"
  }
}

/// A `code_interpreter_call` item: proof that a container existed, even when nothing cites it.
public struct ContainerSighting: Hashable, Sendable, Codable {
  public var containerID: String
  public var callID: String?
  public var response: ResponseInfo?
  public var location: LogLocation

  public init(containerID: String, callID: String?, response: ResponseInfo?, location: LogLocation) {
    self.containerID = containerID
    self.callID = callID
    self.response = response
    self.location = location
  }
}

/// A response object seen in a log, with where it was first read.
public struct ResponseRecord: Hashable, Sendable, Codable {
  public var info: ResponseInfo
  public var location: LogLocation

  public init(info: ResponseInfo, location: LogLocation) {
    self.info = info
    self.location = location
  }
}
