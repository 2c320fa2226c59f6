// The gallery's selection as URL parameters: the same pattern rules and filters as `find`
// (substring, glob when the text has * ? or [, regex, exact, smart case; extension, type,
// model, container, response, since, until, order), parsed the way a browser sends a form.
import ArtifactsCore
import Foundation

struct GalleryQuery: Sendable, Equatable {
  var text = ""
  var regex = false
  var exact = false
  var extensions: [String] = []
  var mediaType = ""
  var model = ""
  var container = ""
  var response = ""
  var since = ""
  var until = ""
  var sort = FindQuery.Sort.newest
  /// 1-based.
  var page = 1

  /// Parameters as a browser sends them (`application/x-www-form-urlencoded`: `+` is a space).
  static func parameters(_ query: String?) -> [(String, String)] {
    guard let query, !query.isEmpty else { return [] }
    return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
      }
      return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
  }

  init() {}

  init(queryString: String?) {
    for (key, value) in Self.parameters(queryString) {
      let trimmed = value.trimmingCharacters(in: .whitespaces)
      switch key {
      case "q": text = value
      case "regex": regex = !trimmed.isEmpty && trimmed != "0"
      case "exact": exact = !trimmed.isEmpty && trimmed != "0"
      case "ext":
        extensions += trimmed.split(whereSeparator: { $0 == "," || $0 == " " }).map {
          $0.hasPrefix(".") ? String($0.dropFirst()) : String($0)
        }
      case "type": mediaType = trimmed
      case "model": model = trimmed
      case "container": container = trimmed
      case "response": response = trimmed
      case "since": since = trimmed
      case "until": until = trimmed
      case "sort": sort = FindQuery.Sort(rawValue: trimmed.lowercased()) ?? .newest
      case "page": page = max(1, Int(trimmed) ?? 1)
      default: break
      }
    }
  }

  /// Whether anything narrows the selection (a search, not the whole gallery).
  var isFiltered: Bool {
    !text.isEmpty || !extensions.isEmpty || !mediaType.isEmpty || !model.isEmpty || !container.isEmpty
      || !response.isEmpty || !since.isEmpty || !until.isEmpty
  }

  /// The selection as `find` would make it from the same words; a message for what cannot be used.
  func findQuery(states: Set<FileState> = [.archived]) -> Result<FindQuery, WebError> {
    if regex && exact {
      return .failure(WebError(.badRequest, "a pattern is either a regular expression or a whole name"))
    }
    if regex, (try? NSRegularExpression(pattern: text)) == nil {
      return .failure(WebError(.badRequest, "\(text) is not a valid regular expression"))
    }
    var sinceSeconds: Int64?
    var untilSeconds: Int64?
    if !since.isEmpty {
      guard let seconds = TimeExpression.unixSeconds(since) else {
        return .failure(WebError(.badRequest, "since: \(since) is neither a date (2026-11-01) nor a duration (7d)"))
      }
      sinceSeconds = seconds
    }
    if !until.isEmpty {
      guard let seconds = TimeExpression.unixSeconds(until) else {
        return .failure(WebError(.badRequest, "until: \(until) is neither a date (2026-11-01) nor a duration (7d)"))
      }
      untilSeconds = seconds
    }
    func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
    return .success(
      FindQuery(
        pattern: text.isEmpty ? nil : FindQuery.pattern(text, regex: regex, exact: exact),
        containerID: nonEmpty(container), responseID: nonEmpty(response), model: nonEmpty(model),
        since: sinceSeconds, until: untilSeconds, extensions: extensions, mediaType: nonEmpty(mediaType),
        states: states, sort: sort))
  }

  /// The URL parameters that give this selection back (defaults left out), for links.
  func queryString(page: Int? = nil) -> String {
    var pairs: [(String, String)] = []
    if !text.isEmpty { pairs.append(("q", text)) }
    if regex { pairs.append(("regex", "1")) }
    if exact { pairs.append(("exact", "1")) }
    if !extensions.isEmpty { pairs.append(("ext", extensions.joined(separator: ","))) }
    if !mediaType.isEmpty { pairs.append(("type", mediaType)) }
    if !model.isEmpty { pairs.append(("model", model)) }
    if !container.isEmpty { pairs.append(("container", container)) }
    if !response.isEmpty { pairs.append(("response", response)) }
    if !since.isEmpty { pairs.append(("since", since)) }
    if !until.isEmpty { pairs.append(("until", until)) }
    if sort != .newest { pairs.append(("sort", sort.rawValue)) }
    if let page, page > 1 { pairs.append(("page", String(page))) }
    return pairs.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
  }

  static func encode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
  }
}
