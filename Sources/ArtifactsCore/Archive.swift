// The archive's vocabulary, shared by every backend and front end: what state a file is in,
// why one could not be archived, how a citation is shown, and how files are selected.

/// Where a container file stands. `lost` is final (the server said it is gone); `failed` is
/// tried again by the next run.
public enum FileState: String, Sendable, Codable, CaseIterable {
  case pending, archived, lost, failed
}

/// How long a container lives after its last use when nothing better is known. The API's own
/// container object (`expires_after`) overrides it wherever it has been read.
public enum ContainerLifetime {
  public static let `default`: Double = 20 * 60
}

/// Why a file is not archived, decided where the server's answer (or the local failure) is
/// read and carried as a value, never parsed back out of a message.
public struct UnarchivedReason: Sendable, Hashable, Codable, CustomStringConvertible {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    /// The API says the container expired (`Container is expired.`) or is gone.
    case containerExpired = "container_expired"
    /// The API says it has no such container.
    case containerNotFound = "container_not_found"
    /// The API says the container has no such file.
    case fileNotFound = "file_not_found"
    /// The API has no such stored response or conversation (deleted, past its 30 days, or
    /// another project's): said of that id, never of a file.
    case responseNotFound = "response_not_found"
    /// The stored bytes were damaged (found by `check`), and the file could not be fetched again.
    case damaged
    /// A request the API refused as malformed or not allowed, for this file only.
    case rejected
    /// The server kept failing (5xx, 429, timeouts) past the retry budget.
    case gaveUp = "gave_up"
    /// The network, TLS or a proxy failed for this request.
    case transport
    /// The file could not be written locally.
    case storage
  }

  public var kind: Kind
  /// The whole explanation as a user reads it: status, the server's message, request id.
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  /// Only the server's own word makes a file lost for good; everything else may be retried.
  public var isFinal: Bool {
    switch kind {
    case .containerExpired, .containerNotFound, .fileNotFound, .damaged, .responseNotFound: true
    case .rejected, .gaveUp, .transport, .storage: false
    }
  }

  /// The answer is about the whole container, so every file still queued there shares it.
  public var concernsContainer: Bool { kind == .containerExpired || kind == .containerNotFound }

  public var description: String { message }
}

/// One citation as every front end shows it (`find --json`, `show`, the export manifest,
/// `import`): one shape, so the four cannot drift apart. Keys are the JSON contract.
public struct CitationRecord: Sendable, Hashable, Codable {
  /// The annotation's identity (see `Citation.identity`), so re-imports do not duplicate it.
  public var key: String
  public var responseID: String?
  public var model: String?
  /// Unix seconds, as the API reports it.
  public var createdAt: Int64?
  public var previousResponseID: String?
  public var itemID: String?
  public var filename: String
  public var startIndex: Int
  public var endIndex: Int
  public var citedText: String?
  /// The log and line it was read from.
  public var log: String?
  public var line: Int?

  enum CodingKeys: String, CodingKey {
    case key
    case responseID = "response_id"
    case model
    case createdAt = "created_at"
    case previousResponseID = "previous_response_id"
    case itemID = "item_id"
    case filename
    case startIndex = "start_index"
    case endIndex = "end_index"
    case citedText = "cited_text"
    case log, line
  }

  public init(
    key: String, responseID: String?, model: String?, createdAt: Int64?, previousResponseID: String?,
    itemID: String?, filename: String, startIndex: Int, endIndex: Int, citedText: String?, log: String?, line: Int?
  ) {
    self.key = key
    self.responseID = responseID
    self.model = model
    self.createdAt = createdAt
    self.previousResponseID = previousResponseID
    self.itemID = itemID
    self.filename = filename
    self.startIndex = startIndex
    self.endIndex = endIndex
    self.citedText = citedText
    self.log = log
    self.line = line
  }

  /// The most recent citing response among `citations` (by created_at; the later one on a tie).
  public static func latest(in citations: [CitationRecord]) -> CitationRecord? {
    citations.enumerated().max {
      ($0.element.createdAt ?? .min, $0.offset) < ($1.element.createdAt ?? .min, $1.offset)
    }?
    .element
  }

  /// The response as far as this citation knows it.
  public var response: ResponseInfo? {
    responseID.map { ResponseInfo(id: $0, createdAt: createdAt, model: model, previousResponseID: previousResponseID) }
  }
}

/// One container file and everything the catalog knows of where it came from.
public struct FoundFile: Sendable, Equatable {
  /// The backend's own key for the row; meaningful only to the backend that returned it.
  public var rowID: Int64
  public var filename: String
  public var digest: Digest?
  public var size: Int64?
  public var mediaType: String?
  public var containerID: String
  public var fileID: String
  public var state: FileState
  /// `cited`, `uncited` (found by listing) or `log` (bytes carried in a log).
  public var source: String
  public var firstSeenAt: String
  public var archivedAt: String?
  public var lastError: String?
  public var attempts: Int
  /// Oldest first.
  public var citations: [CitationRecord]

  public init(
    rowID: Int64, filename: String, digest: Digest?, size: Int64?, mediaType: String?, containerID: String,
    fileID: String, state: FileState, source: String, firstSeenAt: String, archivedAt: String?, lastError: String?,
    attempts: Int, citations: [CitationRecord] = []
  ) {
    self.rowID = rowID
    self.filename = filename
    self.digest = digest
    self.size = size
    self.mediaType = mediaType
    self.containerID = containerID
    self.fileID = fileID
    self.state = state
    self.source = source
    self.firstSeenAt = firstSeenAt
    self.archivedAt = archivedAt
    self.lastError = lastError
    self.attempts = attempts
    self.citations = citations
  }

  /// The most recent citing response (by its created_at; the later citation on a tie).
  public var latestCitation: CitationRecord? { CitationRecord.latest(in: citations) }
}

/// How `find`, `export`, `gc` and the web UI choose files: one set of rules for all.
public struct FindQuery: Sendable, Equatable {
  public enum Pattern: Sendable, Equatable {
    /// Any part of the name (the default).
    case substring(String)
    /// The whole name, with `*`, `?` and `[…]` (shell rules).
    case glob(String)
    /// An ICU regular expression anywhere in the name.
    case regex(String)
    /// The whole name, exactly.
    case exact(String)

    public var text: String {
      switch self {
      case .substring(let text), .glob(let text), .regex(let text), .exact(let text): text
      }
    }
  }

  public enum Sort: String, Sendable, CaseIterable {
    case name, newest, oldest, size
  }

  public enum Detail: Sendable {
    /// Everything known: size, media type and every citation (tables, JSON, export).
    case full
    /// Names, ids, states and digests: enough for a list of stored paths. Tens of thousands
    /// of matches come twice as fast without a lookup of each file's blob and citations.
    /// A catalog may leave the rest empty (no source, times, error or attempts).
    case paths
  }

  public var pattern: Pattern?
  /// Smart case: case-sensitive only when the pattern has an upper-case letter.
  public var caseSensitive: Bool { pattern.map { $0.text != $0.text.lowercased() } ?? false }
  public var containerID: String?
  /// Files cited by this response.
  public var responseID: String?
  public var model: String?
  /// Unix seconds: files whose latest citing response (or archiving, without one) is in range.
  public var since: Int64?
  public var until: Int64?
  /// File name extensions, without the dot (`png`, `csv`).
  public var extensions: [String]
  /// A media type or its top-level part (`image`, `text/csv`).
  public var mediaType: String?
  public var states: Set<FileState>
  public var sort: Sort
  public var limit: Int?
  /// Matches skipped before the first one returned: pages of a long list (the web gallery).
  public var offset = 0
  public var detail = Detail.full

  public init(
    pattern: Pattern? = nil, containerID: String? = nil, responseID: String? = nil, model: String? = nil,
    since: Int64? = nil, until: Int64? = nil, extensions: [String] = [], mediaType: String? = nil,
    states: Set<FileState> = [.archived], sort: Sort = .name, limit: Int? = nil
  ) {
    self.pattern = pattern
    self.containerID = containerID
    self.responseID = responseID
    self.model = model
    self.since = since
    self.until = until
    self.extensions = extensions
    self.mediaType = mediaType
    self.states = states
    self.sort = sort
    self.limit = limit
  }

  /// Substring by default, glob when the text has `*`, `?` or `[` (as `fd` and `locate` do).
  public static func pattern(_ text: String, regex: Bool = false, exact: Bool = false) -> Pattern {
    if regex { return .regex(text) }
    if exact { return .exact(text) }
    if text.contains(where: { "*?[".contains($0) }) { return .glob(text) }
    return .substring(text)
  }
}
