// Turns decoded log records into citations and container sightings, whatever shape the record
// has: a bare response, a response wrapped by an app's logging or by the Batch API, a single
// output item, or one event of a streamed response. Provenance comes from the nearest enclosing
// response object, or, for stream events that carry none, from the stream's own response.
import ArtifactsCore
import Foundation

/// Everything one log yielded, merged: a citation repeated by later events of the same stream
/// (or by a re-logged response) appears once, with the richest details any copy had.
public struct LogFindings: Sendable {
  public var citations: [Citation] = []
  public var sightings: [ContainerSighting] = []
  /// Every response object seen, with where it was first read.
  public var responses: [ResponseRecord] = []
  /// Images carried in the log itself (`code_interpreter_call` outputs with `data:` URLs).
  public var inlineImages: [InlineImage] = []
  public var diagnostics: [Diagnostic] = []

  public init() {}
}

/// Stateful across the records of one log, because a stream's events only make sense together.
struct CitationExtractor {
  private var citationIndex: [String: Int] = [:]
  private var sightingKeys: Set<String> = []
  private var responseIndex: [String: Int] = [:]
  /// The response a stream of events belongs to (set by `response.created` and friends).
  var streamResponse: ResponseInfo?
  private var inlineImageKeys: Set<String> = []
  private(set) var findings = LogFindings()
  /// How many strings deep the walk is: a response kept inside a string (an HTTP body
  /// logger's `response_body`, a whole stream in one string) is decoded, up to a limit.
  private var stringDepth = 0
  static let maximumStringDepth = 3

  static let annotationAddedEvents: Set<String> = [
    "response.output_text.annotation.added",
    // Old SDKs re-serialised the event under this misspelled name.
    "response.output_text_annotation.added",
  ]

  mutating func add(record: JSONValue, at location: LogLocation) {
    if case .object(let members) = record {
      reportBatchError(members, at: location)
      if let type = members["type"]?.stringValue, type.hasPrefix("response.") || type == "error" {
        addEvent(type: type, members, at: location)
        return
      }
    }
    walk(record, response: nil, outputIndex: nil, at: location)
  }

  /// Hands over what was found so far and forgets it, so a long log is held a segment at a
  /// time. A repeat of an annotation after this counts again; the catalog still records it
  /// once, by its identity.
  mutating func takeFindings() -> LogFindings {
    var taken = LogFindings()
    swap(&taken, &findings)
    findings.diagnostics = taken.diagnostics
    taken.diagnostics = []
    citationIndex = [:]
    sightingKeys = []
    responseIndex = [:]
    inlineImageKeys = []
    return taken
  }

  mutating func addDiagnostic(_ diagnostic: Diagnostic) {
    findings.diagnostics.append(diagnostic)
  }

  /// Adds what another extractor found (a later part of the same log), merging repeats.
  mutating func absorb(_ other: LogFindings) {
    for citation in other.citations { record(citation) }
    for sighting in other.sightings {
      addSighting(
        containerID: sighting.containerID, callID: sighting.callID, response: sighting.response, at: sighting.location)
    }
    for record in other.responses { note(response: record.info, at: record.location) }
    for image in other.inlineImages where inlineImageKeys.insert("\(image.callID)#\(image.outputIndex)").inserted {
      findings.inlineImages.append(image)
    }
    findings.diagnostics.append(contentsOf: other.diagnostics)
  }

  // MARK: Stream events

  private mutating func addEvent(type: String, _ event: [String: JSONValue], at location: LogLocation) {
    if let response = event["response"], let info = Self.responseInfo(response) {
      streamResponse = info
      note(response: info, at: location)
    }
    let response = streamResponse
    if Self.annotationAddedEvents.contains(type) {
      // `annotation` may be null in the stream; such an event carries nothing to record.
      if let annotation = event["annotation"]?.objectValue {
        addCitation(
          annotation, text: nil, response: response, itemID: event["item_id"]?.stringValue,
          outputIndex: event["output_index"]?.intValue, contentIndex: event["content_index"]?.intValue,
          annotationIndex: event["annotation_index"]?.intValue, at: location)
      }
      return
    }
    if type == "response.content_part.done" || type == "response.content_part.added",
      let part = event["part"]?.objectValue
    {
      addContentPart(
        part, response: response, itemID: event["item_id"]?.stringValue,
        outputIndex: event["output_index"]?.intValue, contentIndex: event["content_index"]?.intValue,
        at: location)
      return
    }
    if type == "error" {
      let message = event["message"]?.stringValue ?? event["error"]?["message"]?.stringValue ?? "no message"
      findings.diagnostics.append(Diagnostic(.warning, "the stream reported an error: \(message)", at: location))
    }
    if let item = event["item"] {
      walk(item, response: response, outputIndex: event["output_index"]?.intValue, at: location)
    }
    if let inner = event["response"] {
      walk(inner, response: response, outputIndex: nil, at: location)
    }
  }

  // MARK: Walking any JSON shape

  private mutating func walk(_ value: JSONValue, response: ResponseInfo?, outputIndex: Int?, at location: LogLocation) {
    switch value {
    case .array(let elements):
      // A recorded stream kept as its lines (test-proxy recordings): one stream, not many.
      if let lines = Self.eventStreamLines(elements) {
        addEmbedded(lines.joined(separator: "\n"), at: location)
        return
      }
      for element in elements { walk(element, response: response, outputIndex: outputIndex, at: location) }
    case .object(let members):
      walkObject(members, value: value, response: response, outputIndex: outputIndex, at: location)
    case .string(let text):
      addEmbedded(text, at: location)
    default:
      return
    }
  }

  // MARK: Responses kept inside strings

  /// Decodes a string that holds the citation keywords — JSON (a response, an event, an
  /// array of SSE lines) or the text of a stream of events — and reads what is inside, with
  /// the outer record's location. Strings inside those are decoded too, a few levels deep.
  private mutating func addEmbedded(_ text: String, at location: LogLocation) {
    guard stringDepth < Self.maximumStringDepth, text.utf8.count > 24, Self.mentionsContainers(text) else { return }
    stringDepth += 1
    // An embedded stream is its own stream: its events name their own response.
    let outerStream = streamResponse
    streamResponse = nil
    defer {
      streamResponse = outerStream
      stringDepth -= 1
    }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("{") || trimmed.hasPrefix("["), let value = try? JSONParser.parse(trimmed) {
      if let elements = value.arrayValue {
        if let lines = Self.eventStreamLines(elements) {
          addEventStream(lines.joined(separator: "\n"), at: location)
        } else {
          for element in elements { add(record: element, at: location) }
        }
      } else {
        add(record: value, at: location)
      }
    } else if trimmed.hasPrefix("event:") || trimmed.hasPrefix("data:") || trimmed.contains("\ndata:") {
      addEventStream(trimmed, at: location)
    }
  }

  /// `event:`/`data:` text, as a server sends it: each event's data lines joined, decoded as
  /// one record.
  private mutating func addEventStream(_ text: String, at location: LogLocation) {
    var data: [Substring] = []
    func flush(_ extractor: inout CitationExtractor) {
      defer { data = [] }
      let joined = data.joined(separator: "\n")
      guard !data.isEmpty, joined != "[DONE]", let value = try? JSONParser.parse(joined) else { return }
      extractor.add(record: value, at: location)
    }
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      if line.isEmpty {
        flush(&self)
      } else if line.hasPrefix("data:") {
        let value = line.dropFirst(5)
        data.append(value.hasPrefix(" ") ? value.dropFirst() : value)
      } else if line.hasPrefix("event:") && !data.isEmpty {
        flush(&self)  // lines recorded without the blank line between events
      }
    }
    flush(&self)
  }

  /// Whether `text` holds `container_` (the scanner's own prefilter), searched in its bytes.
  static func mentionsContainers(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      guard let base = bytes.baseAddress else { return false }
      return RecordFilter.find(RecordFilter.container, in: UnsafeRawPointer(base), bytes.count, from: 0) != nil
    }
  }

  /// The elements as lines of a stream of events, when they are all strings and some are
  /// `data:` lines.
  static func eventStreamLines(_ elements: [JSONValue]) -> [String]? {
    guard elements.count > 1 else { return nil }
    var lines: [String] = []
    var sawData = false
    for element in elements {
      guard let line = element.stringValue else { return nil }
      if line.hasPrefix("data:") { sawData = true }
      lines.append(line)
    }
    return sawData ? lines : nil
  }

  private mutating func walkObject(
    _ members: [String: JSONValue], value: JSONValue, response inherited: ResponseInfo?, outputIndex: Int?,
    at location: LogLocation
  ) {
    var response = inherited
    if let info = Self.responseInfo(value) {
      response = info
      note(response: info, at: location)
      // Indexes into `output` are what citations and events call `output_index`.
      if let output = members["output"]?.arrayValue {
        for (index, item) in output.enumerated() { walk(item, response: info, outputIndex: index, at: location) }
      }
      for (key, child) in members.sorted(by: { $0.key < $1.key }) where key != "output" {
        walk(child, response: info, outputIndex: nil, at: location)
      }
      return
    }
    switch members["type"]?.stringValue {
    case "message":
      addMessage(members, response: response, outputIndex: outputIndex, at: location)
      return
    case "container_file_citation":
      addCitation(
        members, text: nil, response: response, itemID: nil, outputIndex: outputIndex, contentIndex: nil,
        annotationIndex: nil, at: location)
      return
    case "citation":
      // Microsoft Agent Framework's normalised form: the container in additional_properties,
      // the name in `url`, the span (if any) in annotated_regions.
      if let fileID = members["file_id"]?.stringValue, fileID.hasPrefix("cfile_"),
        let containerID = members["additional_properties"]?["container_id"]?.stringValue
      {
        let region = members["annotated_regions"]?.arrayValue?.first
        var annotation: [String: JSONValue] = [
          "container_id": .string(containerID), "file_id": .string(fileID),
          "start_index": region?["start_index"] ?? .number(0), "end_index": region?["end_index"] ?? .number(0),
        ]
        if let url = members["url"]?.stringValue, let name = url.split(separator: "/").last {
          annotation["filename"] = .string(String(name))
        }
        addCitation(
          annotation, text: nil, response: response, itemID: nil, outputIndex: outputIndex, contentIndex: nil,
          annotationIndex: nil, at: location)
        return
      }
    case "code_interpreter_call":
      if let containerID = members["container_id"]?.stringValue {
        let callID = members["id"]?.stringValue
        addSighting(containerID: containerID, callID: callID, response: response, at: location)
        if let callID, let outputs = members["outputs"]?.arrayValue {
          addInlineImages(outputs, containerID: containerID, callID: callID, response: response, at: location)
        }
      }
    default:
      break
    }
    for (_, child) in members.sorted(by: { $0.key < $1.key }) {
      walk(child, response: response, outputIndex: nil, at: location)
    }
  }

  private mutating func addMessage(
    _ message: [String: JSONValue], response: ResponseInfo?, outputIndex: Int?, at location: LogLocation
  ) {
    let itemID = message["id"]?.stringValue
    guard let content = message["content"]?.arrayValue else { return }
    for (contentIndex, part) in content.enumerated() {
      guard let part = part.objectValue else { continue }
      addContentPart(
        part, response: response, itemID: itemID, outputIndex: outputIndex, contentIndex: contentIndex, at: location)
    }
  }

  private mutating func addContentPart(
    _ part: [String: JSONValue], response: ResponseInfo?, itemID: String?, outputIndex: Int?, contentIndex: Int?,
    at location: LogLocation
  ) {
    guard let annotations = part["annotations"]?.arrayValue else { return }
    let text = part["text"]?.stringValue
    for (annotationIndex, annotation) in annotations.enumerated() {
      guard let annotation = annotation.objectValue, annotation["type"]?.stringValue == "container_file_citation"
      else { continue }
      addCitation(
        annotation, text: text, response: response, itemID: itemID, outputIndex: outputIndex,
        contentIndex: contentIndex, annotationIndex: annotationIndex, at: location)
    }
  }

  // MARK: Recording

  private mutating func addCitation(
    _ annotation: [String: JSONValue], text: String?, response: ResponseInfo?, itemID: String?, outputIndex: Int?,
    contentIndex: Int?, annotationIndex: Int?, at location: LogLocation
  ) {
    guard let containerID = annotation["container_id"]?.stringValue,
      let fileID = annotation["file_id"]?.stringValue
    else {
      findings.diagnostics.append(
        Diagnostic(.warning, "a container_file_citation without container_id or file_id was skipped", at: location))
      return
    }
    let start = annotation["start_index"]?.intValue ?? 0
    let end = annotation["end_index"]?.intValue ?? 0
    let citation = Citation(
      file: ContainerFileRef(containerID: containerID, fileID: fileID),
      filename: annotation["filename"]?.stringValue ?? fileID,
      startIndex: start, endIndex: end,
      citedText: text.flatMap { Self.slice($0, start: start, end: end) },
      response: response, itemID: itemID, outputIndex: outputIndex, contentIndex: contentIndex,
      annotationIndex: annotationIndex, location: location)
    record(citation)
  }

  /// Keeps one copy of each annotation, filled in from every copy seen.
  private mutating func record(_ citation: Citation) {
    let identity = citation.identity
    if let existing = citationIndex[identity] {
      findings.citations[existing].merge(citation)
    } else {
      citationIndex[identity] = findings.citations.count
      findings.citations.append(citation)
    }
  }

  private mutating func addSighting(
    containerID: String, callID: String?, response: ResponseInfo?, at location: LogLocation
  ) {
    let key = "\(response?.id ?? location.description)|\(callID ?? "-")|\(containerID)"
    guard sightingKeys.insert(key).inserted else { return }
    findings.sightings.append(
      ContainerSighting(containerID: containerID, callID: callID, response: response, location: location))
  }

  private mutating func addInlineImages(
    _ outputs: [JSONValue], containerID: String, callID: String, response: ResponseInfo?, at location: LogLocation
  ) {
    for (index, output) in outputs.enumerated() {
      guard output["type"]?.stringValue == "image", let url = output["url"]?.stringValue, url.hasPrefix("data:") else {
        continue
      }
      // The same call is repeated by later stream events; its images are taken once.
      guard inlineImageKeys.insert("\(callID)#\(index)").inserted else { continue }
      guard let (mediaType, bytes) = Self.decodeDataURL(url) else {
        findings.diagnostics.append(
          Diagnostic(.warning, "an image output of \(callID) has a data: URL that is not valid base64", at: location))
        continue
      }
      findings.inlineImages.append(
        InlineImage(
          containerID: containerID, callID: callID, outputIndex: index, mediaType: mediaType, bytes: bytes,
          response: response, location: location))
    }
  }

  /// `data:<type>;base64,<payload>` → (type, bytes). Only base64 payloads are accepted.
  static func decodeDataURL(_ url: String) -> (String, [UInt8])? {
    guard let comma = url.firstIndex(of: ",") else { return nil }
    let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
    guard header.hasSuffix(";base64") else { return nil }
    let mediaType = header.dropLast(";base64".count)
    guard let data = Data(base64Encoded: String(url[url.index(after: comma)...]), options: .ignoreUnknownCharacters)
    else {
      return nil
    }
    return (mediaType.isEmpty ? "application/octet-stream" : String(mediaType), Array(data))
  }

  private mutating func note(response info: ResponseInfo, at location: LogLocation) {
    if let existing = responseIndex[info.id] {
      findings.responses[existing].info.merge(info)
    } else {
      responseIndex[info.id] = findings.responses.count
      findings.responses.append(ResponseRecord(info: info, location: location))
    }
  }

  private mutating func reportBatchError(_ record: [String: JSONValue], at location: LogLocation) {
    guard let customID = record["custom_id"]?.stringValue, let error = record["error"]?.objectValue else { return }
    let message = error["message"]?.stringValue ?? error["code"]?.stringValue ?? "no message"
    findings.diagnostics.append(
      Diagnostic(.warning, "batch request \(customID) failed: \(message)", at: location))
  }

  // MARK: Helpers

  /// A response object: `"object": "response"`, or a `resp_` id beside an `output` list.
  static func responseInfo(_ value: JSONValue) -> ResponseInfo? {
    guard let members = value.objectValue, let id = members["id"]?.stringValue else { return nil }
    let isResponse =
      members["object"]?.stringValue == "response"
      || (id.hasPrefix("resp_") && members["output"]?.arrayValue != nil)
    guard isResponse else { return nil }
    return ResponseInfo(
      id: id,
      createdAt: members["created_at"]?.intValue.map(Int64.init),
      model: members["model"]?.stringValue,
      status: members["status"]?.stringValue,
      previousResponseID: members["previous_response_id"]?.stringValue)
  }

  /// `text[start..<end]` in Unicode scalars, the unit the API counts in.
  static func slice(_ text: String, start: Int, end: Int) -> String? {
    guard start >= 0, end >= start else { return nil }
    let scalars = text.unicodeScalars
    guard let lower = scalars.index(scalars.startIndex, offsetBy: start, limitedBy: scalars.endIndex),
      let upper = scalars.index(lower, offsetBy: end - start, limitedBy: scalars.endIndex)
    else { return nil }
    return String(scalars[lower..<upper])
  }
}

extension LogFindings {
  /// Citations, sightings, responses and images: what a segment counts.
  var count: Int { citations.count + sightings.count + responses.count + inlineImages.count }

  /// Adds another part's findings after these, as they are (a part's own repeats are merged
  /// already; one across parts is recorded once by the catalog).
  mutating func append(contentsOf other: LogFindings) {
    citations.append(contentsOf: other.citations)
    sightings.append(contentsOf: other.sightings)
    responses.append(contentsOf: other.responses)
    inlineImages.append(contentsOf: other.inlineImages)
    diagnostics.append(contentsOf: other.diagnostics)
  }

  /// Moves every line number by `offset` (a part of a log read on its own starts at line 1).
  mutating func shiftLines(by offset: Int) {
    guard offset != 0 else { return }
    for index in citations.indices { citations[index].location.line += offset }
    for index in sightings.indices { sightings[index].location.line += offset }
    for index in responses.indices { responses[index].location.line += offset }
    for index in inlineImages.indices { inlineImages[index].location.line += offset }
    for index in diagnostics.indices { diagnostics[index].line? += offset }
  }
}

extension Citation {
  /// Fills in what this copy lacks from another copy of the same annotation.
  mutating func merge(_ other: Citation) {
    // Only a copy with the same span may supply the text (copies can disagree in broken logs).
    if citedText == nil && other.startIndex == startIndex && other.endIndex == endIndex { citedText = other.citedText }
    if let otherResponse = other.response {
      if response == nil { response = otherResponse } else { response!.merge(otherResponse) }
    }
    if itemID == nil { itemID = other.itemID }
    if outputIndex == nil { outputIndex = other.outputIndex }
    if contentIndex == nil { contentIndex = other.contentIndex }
    if annotationIndex == nil { annotationIndex = other.annotationIndex }
  }
}

extension ResponseInfo {
  /// Later sightings of a response (a stream's `response.completed`) know its final status.
  mutating func merge(_ other: ResponseInfo) {
    if other.status != nil { status = other.status }
    if createdAt == nil { createdAt = other.createdAt }
    if model == nil { model = other.model }
    if previousResponseID == nil { previousResponseID = other.previousResponseID }
  }
}
