// Deciding every path in an export before a byte is written: names from logs are untrusted,
// so each becomes one safe path component, and the same content appearing twice is written
// once (later entries are hard links). The same selection always gives the same plan.
import ArtifactsCore
import Foundation

public enum ExportLayout: String, Sendable, CaseIterable {
  /// `<date>_<response_id>/<name>`: a file cited by two responses appears under both.
  case byResponse = "by-response"
  case byContainer = "by-container"
  case flat
}

/// A file to export, as the catalog knows it.
public struct ExportItem: Sendable {
  public var digest: Digest
  public var size: Int64
  public var mediaType: String
  public var containerID: String
  public var fileID: String
  public var filename: String
  public var source: String
  public var archivedAt: String?
  /// Unix seconds; used for entry times when no citation dates the file.
  public var archivedAtSeconds: Int64?
  public var citations: [CitationRecord]

  public init(
    digest: Digest, size: Int64, mediaType: String, containerID: String, fileID: String, filename: String,
    source: String, archivedAt: String?, archivedAtSeconds: Int64?, citations: [CitationRecord]
  ) {
    self.digest = digest
    self.size = size
    self.mediaType = mediaType
    self.containerID = containerID
    self.fileID = fileID
    self.filename = filename
    self.source = source
    self.archivedAt = archivedAt
    self.archivedAtSeconds = archivedAtSeconds
    self.citations = citations
  }
}

public struct ExportPlan: Sendable {
  public struct Entry: Sendable {
    public var path: String
    public var item: Int
    /// The earlier entry with the same bytes, when this one is a hard link.
    public var linkTo: String?
    public var modified: Int64
  }

  public var directories: [(path: String, modified: Int64)]
  /// In archive order: sorted by path, so every link follows its target.
  public var entries: [Entry]
  public var manifest: ExportManifest
  /// The newest entry time: MANIFEST.json's own time.
  public var newest: Int64

  public init(items: [ExportItem], layout: ExportLayout) {
    var names = NameAllocator()
    var placed: [(path: String, item: Int, modified: Int64)] = []
    // A stable order for allocating names, so collisions number the same way every time.
    let order = items.indices.sorted {
      (items[$0].filename, items[$0].containerID, items[$0].fileID)
        < (items[$1].filename, items[$1].containerID, items[$1].fileID)
    }
    for index in order {
      let item = items[index]
      let latest = item.citations.compactMap(\.createdAt).max() ?? item.archivedAtSeconds ?? 0
      switch layout {
      case .flat:
        placed.append((names.place(item.filename, in: ""), index, latest))
      case .byContainer:
        let directory = PathSanitizer.component(item.containerID, fallback: "container")
        placed.append((names.place(item.filename, in: directory), index, latest))
      case .byResponse:
        var responses: [(id: String, created: Int64?)] = []
        for citation in item.citations.sorted(by: { ($0.createdAt ?? 0, $0.key) < ($1.createdAt ?? 0, $1.key) }) {
          if let id = citation.responseID, !responses.contains(where: { $0.id == id }) {
            responses.append((id, citation.createdAt))
          }
        }
        if responses.isEmpty {
          placed.append((names.place(item.filename, in: "no-response"), index, latest))
        }
        for response in responses {
          let day = response.created.map(Self.day) ?? "undated"
          let directory = PathSanitizer.component("\(day)_\(response.id)", fallback: "response")
          placed.append((names.place(item.filename, in: directory), index, response.created ?? latest))
        }
      }
    }
    placed.sort { $0.path < $1.path }
    var firstPathOfDigest: [Digest: String] = [:]
    var entries: [Entry] = []
    var directoryTimes: [String: Int64] = [:]
    for placement in placed {
      let digest = items[placement.item].digest
      let linkTo = firstPathOfDigest[digest]
      if linkTo == nil { firstPathOfDigest[digest] = placement.path }
      entries.append(Entry(path: placement.path, item: placement.item, linkTo: linkTo, modified: placement.modified))
      if let slash = placement.path.lastIndex(of: "/") {
        let directory = String(placement.path[..<slash])
        directoryTimes[directory] = max(directoryTimes[directory] ?? 0, placement.modified)
      }
    }
    directories = directoryTimes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    self.entries = entries
    newest = entries.map(\.modified).max() ?? 0
    manifest = ExportManifest(
      layout: layout.rawValue,
      entries: entries.map { entry in
        let item = items[entry.item]
        return ExportManifest.Entry(
          path: entry.path, sha256: item.digest.hex, size: item.size, mediaType: item.mediaType,
          containerId: item.containerID, fileId: item.fileID, filename: item.filename, source: item.source,
          archivedAt: item.archivedAt, linkTo: entry.linkTo, citations: item.citations)
      })
  }

  static func day(_ seconds: Int64) -> String {
    let date = Date(timeIntervalSince1970: TimeInterval(seconds))
    let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
    return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
  }
}

/// Hands out unique names within each directory; a second `chart.png` becomes `chart (2).png`.
/// Uniqueness ignores case, so extracting on a case-insensitive file system loses nothing.
struct NameAllocator {
  private var taken: [String: Set<String>] = [:]

  mutating func place(_ rawName: String, in directory: String) -> String {
    let name = PathSanitizer.component(rawName, fallback: "unnamed")
    var candidate = name
    var number = 2
    while taken[directory, default: []].contains(candidate.lowercased()) {
      candidate = PathSanitizer.numbered(name, number)
      number += 1
    }
    taken[directory, default: []].insert(candidate.lowercased())
    return directory.isEmpty ? candidate : directory + "/" + candidate
  }
}

/// Untrusted text → one safe path component.
public enum PathSanitizer {
  public static let maximumComponentBytes = 255

  /// NFC; no `/` or `\`; no control, format (bidi overrides) or line/paragraph separator
  /// characters; not empty, `.` or `..`; at most 255 bytes of UTF-8, keeping a short extension.
  public static func component(_ raw: String, fallback: String) -> String {
    let normalized = raw.precomposedStringWithCanonicalMapping
    var scalars = String.UnicodeScalarView()
    for scalar in normalized.unicodeScalars {
      switch scalar.properties.generalCategory {
      case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
        scalars.append("_")
      default:
        scalars.append(scalar == "/" || scalar == "\\" ? "_" : scalar)
      }
    }
    var name = String(scalars).trimmingCharacters(in: .whitespaces)
    if name.isEmpty || name == "." || name == ".." { name = fallback }
    // Leading dots would hide the file (or, as "..", mean the parent); keep the name visible.
    if name.hasPrefix(".") { name = "_" + name.dropFirst() }
    return truncated(name, to: maximumComponentBytes)
  }

  /// `name (n).ext`, still within the length limit.
  static func numbered(_ name: String, _ number: Int) -> String {
    let (stem, ext) = split(name)
    let suffix = " (\(number))" + ext
    return truncated(stem, to: maximumComponentBytes - suffix.utf8.count) + suffix
  }

  static func truncated(_ name: String, to limit: Int) -> String {
    guard name.utf8.count > limit else { return name }
    let (stem, ext) = split(name)
    let keep = ext.utf8.count <= 16 ? ext : ""
    var result = ""
    for character in stem {
      if result.utf8.count + String(character).utf8.count + keep.utf8.count > limit { break }
      result.append(character)
    }
    return result + keep
  }

  static func split(_ name: String) -> (stem: String, ext: String) {
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
    return (String(name[..<dot]), String(name[dot...]))
  }
}
