import ArtifactsCore
import Foundation

/// `MANIFEST.json`, the first entry of every export: for each file its path in the archive,
/// its digest and size, where it came from (container, file id) and every citation, so that
/// `artifacts import` can rebuild the same catalog records elsewhere. Keys are spelled out:
/// they are a file format other tools read.
public struct ExportManifest: Codable, Sendable, Equatable {
  public var format = "artifacts-export"
  public var version = 1
  public var layout: String
  public var entries: [Entry]

  public init(layout: String, entries: [Entry]) {
    self.layout = layout
    self.entries = entries
  }

  enum CodingKeys: String, CodingKey {
    case format, version, layout, entries
  }

  public struct Entry: Codable, Sendable, Equatable {
    /// Where the bytes are in the archive.
    public var path: String
    /// Untrusted text when read from an archive: `import` checks it is a digest.
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
    public var citations: [CitationRecord]

    enum CodingKeys: String, CodingKey {
      case path, sha256, size
      case mediaType = "media_type"
      case containerId = "container_id"
      case fileId = "file_id"
      case filename, source
      case archivedAt = "archived_at"
      case linkTo = "link_to"
      case citations
    }

    public init(
      path: String, sha256: String, size: Int64, mediaType: String, containerId: String, fileId: String,
      filename: String, source: String, archivedAt: String?, linkTo: String?, citations: [CitationRecord]
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

  /// Deterministic JSON: sorted keys.
  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
  }

  /// Reads a manifest; what is wrong is said in the manifest's own terms (which entry, which
  /// field), never in the decoder's.
  public static func decode(_ bytes: [UInt8]) throws(ExportError) -> ExportManifest {
    let manifest: ExportManifest
    do {
      manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(bytes))
    } catch let error as DecodingError {
      throw ExportError(.notAnExport, "MANIFEST.json: \(describe(error))")
    } catch {
      throw ExportError(.notAnExport, "MANIFEST.json cannot be read: \(error.localizedDescription)")
    }
    guard manifest.format == "artifacts-export" else {
      throw ExportError(.notAnExport, "MANIFEST.json: format is \"\(manifest.format)\", not \"artifacts-export\"")
    }
    guard manifest.version == 1 else {
      throw ExportError(
        .notAnExport, "MANIFEST.json: version \(manifest.version) is newer than this artifacts reads (1); upgrade it")
    }
    return manifest
  }

  /// "entry 3, field \"size\": expected a number" rather than `DecodingError.typeMismatch(…)`.
  static func describe(_ error: DecodingError) -> String {
    func place(_ path: [any CodingKey], adding key: (any CodingKey)? = nil) -> String {
      var parts: [String] = []
      var fields: [String] = []
      for component in path + (key.map { [$0] } ?? []) {
        if let index = component.intValue {
          if fields.last == "entries" {
            fields.removeLast()
            parts.append("entry \(index + 1)")
          } else if fields.last == "citations" {
            fields.removeLast()
            parts.append("citation \(index + 1)")
          } else {
            parts.append("item \(index + 1) of \(fields.last ?? "the list")")
          }
        } else {
          fields.append(component.stringValue)
        }
      }
      if !fields.isEmpty { parts.append("field \"\(fields.joined(separator: "."))\"") }
      return parts.isEmpty ? "the document" : parts.joined(separator: ", ")
    }
    func kind(_ type: Any.Type) -> String {
      switch type {
      case is String.Type: "text"
      case is Int.Type, is Int64.Type, is Double.Type: "a number"
      case is Bool.Type: "true or false"
      default: "\(type)".hasPrefix("Array") ? "a list" : "an object"
      }
    }
    switch error {
    case .keyNotFound(let key, let context):
      return "\(place(context.codingPath, adding: key)) is missing"
    case .valueNotFound(let type, let context):
      return "\(place(context.codingPath)) is null; expected \(kind(type))"
    case .typeMismatch(let type, let context):
      return "\(place(context.codingPath)) has the wrong type; expected \(kind(type))"
    case .dataCorrupted(let context):
      if context.codingPath.isEmpty { return "not valid JSON" }
      return "\(place(context.codingPath)) is not valid"
    @unknown default:
      return "cannot be read"
    }
  }
}
