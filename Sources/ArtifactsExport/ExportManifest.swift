import Foundation

/// `MANIFEST.json`, the first entry of every export: for each file its path in the archive,
/// its digest and size, where it came from (container, file id) and every citation, so that
/// `artifacts import` can rebuild the same catalog records elsewhere.
public struct ExportManifest: Codable, Sendable, Equatable {
  public var format = "artifacts-export"
  public var version = 1
  public var layout: String
  public var entries: [Entry]

  public init(layout: String, entries: [Entry]) {
    self.layout = layout
    self.entries = entries
  }

  public struct Entry: Codable, Sendable, Equatable {
    /// Where the bytes are in the archive.
    public var path: String
    public var sha256: String
    public var size: Int64
    public var mediaType: String
    public var containerId: String
    public var fileId: String
    /// The name as cited (untrusted; `path` holds the sanitised one).
    public var filename: String
    public var source: String
    public var archivedAt: String?
    /// Set when this entry is a hard link to an earlier one holding the same bytes.
    public var linkTo: String?
    public var citations: [Citation]

    public init(
      path: String, sha256: String, size: Int64, mediaType: String, containerId: String, fileId: String,
      filename: String, source: String, archivedAt: String?, linkTo: String?, citations: [Citation]
    ) {
      self.path = path
      self.sha256 = sha256
      self.size = size
      self.mediaType = mediaType
      self.containerId = containerId
      self.fileId = fileId
      self.filename = filename
      self.source = source
      self.archivedAt = archivedAt
      self.linkTo = linkTo
      self.citations = citations
    }
  }

  public struct Citation: Codable, Sendable, Equatable {
    /// The catalog's identity of the annotation, so re-imports do not duplicate it.
    public var key: String
    public var responseId: String?
    public var model: String?
    /// Unix seconds.
    public var createdAt: Int64?
    public var previousResponseId: String?
    public var itemId: String?
    public var filename: String
    public var startIndex: Int
    public var endIndex: Int
    public var citedText: String?
    public var log: String?
    public var line: Int?

    public init(
      key: String, responseId: String?, model: String?, createdAt: Int64?, previousResponseId: String?,
      itemId: String?, filename: String, startIndex: Int, endIndex: Int, citedText: String?, log: String?, line: Int?
    ) {
      self.key = key
      self.responseId = responseId
      self.model = model
      self.createdAt = createdAt
      self.previousResponseId = previousResponseId
      self.itemId = itemId
      self.filename = filename
      self.startIndex = startIndex
      self.endIndex = endIndex
      self.citedText = citedText
      self.log = log
      self.line = line
    }
  }

  /// Deterministic JSON: sorted keys, snake_case.
  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
  }

  public static func decode(_ bytes: [UInt8]) throws -> ExportManifest {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(ExportManifest.self, from: Data(bytes))
  }
}
