// Apps that logged only response ids (or a conversation id): the responses are fetched from
// the API (`GET /responses/{id}`, kept 30 days; `GET /conversations/{id}/items`, every page),
// kept in the store — they are the provenance, and cannot be fetched again once the API has
// dropped them — and read as logs whose location is their URL. One id the API does not know
// is a warning about that id, not the end of the run.
import ArtifactsCore
import ArtifactsFetch
import Foundation

/// Responses to fetch by id: the lines of a file (or of stdin), one id a line.
public struct ResponseIDList: Sendable {
  /// Where the lines came from, for warnings (a path, or `-`).
  public var name: String
  public var text: String

  public init(name: String, text: String) {
    self.name = name
    self.text = text
  }
}

struct StoredResponses {
  let store: ArtifactStore
  let sink: any EventSink
  let engine: TransferEngine
  let concurrency: Int

  /// Statuses after which a stored response no longer changes: a copy kept is used as it is.
  static let finalStatuses: Set<String> = ["completed", "failed", "cancelled", "incomplete"]

  var responsesFolder: String { store.root + "/responses" }
  var conversationsFolder: String { store.root + "/conversations" }

  /// The documents to read, as (URL, bytes); warnings go to the sink and into `summary`.
  func fetch(ids list: ResponseIDList?, conversations: [String], into summary: inout SyncSummary) async throws(KitError)
    -> [(location: String, bytes: [UInt8])]
  {
    var wanted: [(id: String, line: Int)] = []
    var seen = Set<String>()
    if let list {
      for (index, raw) in list.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let id = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if id.isEmpty || id.hasPrefix("#") { continue }
        guard id.hasPrefix("resp_"), IdentifierSyntax.isSafePathSegment(id) else {
          warn("not a response id (resp_…): skipped", at: LogLocation(path: list.name, line: index + 1), &summary)
          continue
        }
        if seen.insert(id).inserted { wanted.append((id, index + 1)) }
      }
    }
    var documents: [(location: String, bytes: [UInt8])] = []
    let name = list?.name ?? "-"
    let results = await concurrentMap(wanted, limit: concurrency) { id, line in
      await self.response(id, line: line, list: name)
    }
    for result in results {
      switch result {
      case .document(let location, let bytes): documents.append((location, bytes))
      case .warning(let diagnostic): warn(diagnostic, &summary)
      case .stopped: throw stoppedError()
      }
    }
    for id in conversations {
      switch await conversation(id) {
      case .document(let location, let bytes): documents.append((location, bytes))
      case .warning(let diagnostic): warn(diagnostic, &summary)
      case .stopped: throw stoppedError()
      }
    }
    return documents
  }

  enum Fetched: Sendable {
    case document(String, [UInt8])
    case warning(Diagnostic)
    /// The run cannot go on (credentials, the network): the engine says why.
    case stopped
  }

  private func response(_ id: String, line: Int, list: String) async -> Fetched {
    let location = engine.baseURL + "/responses/" + id
    let kept = responsesFolder + "/" + id + ".json"
    if let bytes = FileManager.default.contents(atPath: kept).map(Array.init),
      let status = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["status"] as? String,
      Self.finalStatuses.contains(status)
    {
      return .document(location, bytes)
    }
    switch await engine.get("/responses/" + id) {
    case .ok(let answer):
      do throws(KitError) {
        try keep(answer.body, at: kept)
      } catch {
        return .warning(Diagnostic(.error, error.message, at: LogLocation(path: list, line: line)))
      }
      return .document(location, answer.body)
    case .unarchived(let reason):
      return .warning(
        Diagnostic(
          .warning, "response \(id) could not be fetched: \(reason.message)", at: LogLocation(path: list, line: line)))
    case .cancelled:
      return .stopped
    }
  }

  /// Every page of a conversation's items, kept (and read) as one list.
  private func conversation(_ id: String) async -> Fetched {
    let location = engine.baseURL + "/conversations/" + id + "/items"
    guard id.hasPrefix("conv_"), IdentifierSyntax.isSafePathSegment(id) else {
      return .warning(Diagnostic(.warning, "not a conversation id (conv_…): skipped", file: id))
    }
    var items: [Any] = []
    var after: String?
    for _ in 0..<100_000 {
      var path = "/conversations/\(id)/items?limit=100&order=asc"
      if let after { path += "&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? after)" }
      switch await engine.get(path) {
      case .ok(let answer):
        guard let page = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
          let data = page["data"] as? [Any]
        else {
          return .warning(Diagnostic(.warning, "GET \(path) did not answer with a list of items", file: location))
        }
        items += data
        guard page["has_more"] as? Bool == true, let last = page["last_id"] as? String, last != after else {
          let document: [String: Any] = ["object": "list", "conversation_id": id, "data": items]
          guard let bytes = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else {
            return .warning(Diagnostic(.warning, "the items of \(id) could not be kept", file: location))
          }
          do throws(KitError) { try keep(Array(bytes), at: conversationsFolder + "/" + id + ".json") } catch {
            return .warning(Diagnostic(.error, error.message, file: location))
          }
          return .document(location, Array(bytes))
        }
        after = last
      case .unarchived(let reason):
        return .warning(
          Diagnostic(.warning, "conversation \(id) could not be fetched: \(reason.message)", file: location))
      case .cancelled:
        return .stopped
      }
    }
    return .warning(Diagnostic(.warning, "the items of \(id) did not end", file: location))
  }

  /// Writes `bytes` to `path` whole or not at all (a temporary file renamed into place).
  private func keep(_ bytes: [UInt8], at path: String) throws(KitError) {
    let folder = (path as NSString).deletingLastPathComponent
    do {
      try FileManager.default.createDirectory(
        atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      try Data(bytes).write(to: URL(fileURLWithPath: path), options: [.atomic])
    } catch {
      throw KitError(.unusableStore, "cannot keep \(path): \(error.localizedDescription)")
    }
  }

  private func warn(_ message: String, at location: LogLocation, _ summary: inout SyncSummary) {
    warn(Diagnostic(.warning, message, at: location), &summary)
  }

  private func warn(_ diagnostic: Diagnostic, _ summary: inout SyncSummary) {
    sink.emit(.diagnostic(diagnostic))
    summary.warnings += 1
  }

  private func stoppedError() -> KitError {
    if let fatal = engine.fatalError {
      if case .credentialsRejected = fatal.code { return KitError(.credentialsRejected, fatal.message) }
      return KitError(.configuration, fatal.message)
    }
    return KitError(.configuration, "the responses could not be fetched")
  }

}
