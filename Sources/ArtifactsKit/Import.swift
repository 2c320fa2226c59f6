// `import`: a colleague's export becomes part of this store. Every file's bytes are checked
// against the digest its manifest claims before anything is recorded.
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsExport
import ArtifactsStore
import Foundation

public struct ImportSummary: Sendable, Codable, Equatable {
  /// Distinct files the manifest lists.
  public var files = 0
  /// Files this catalog did not have.
  public var added = 0
  /// Distinct contents newly stored.
  public var stored = 0
  public var bytes: Int64 = 0
}

public struct Import: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) {
    self.store = store
  }

  /// Imports the archive at `path` (nil: standard input).
  public func run(archive path: String?) throws(KitError) -> ImportSummary {
    let lock = try store.sharedLock()
    defer { lock.release() }
    let name = path ?? "standard input"
    let descriptor = path.map { open($0, O_RDONLY | O_CLOEXEC) } ?? STDIN_FILENO
    guard descriptor >= 0 else {
      throw KitError(.missingInput, "cannot read \(name): \(String(cString: strerror(errno)))")
    }
    defer { if path != nil { close(descriptor) } }
    let reader = TarReader(descriptor: descriptor, name: name)
    do {
      guard let first = try reader.next(), first.path == "MANIFEST.json", first.kind == .file, first.size < 256 << 20
      else {
        throw ExportError(.notAnExport, "\(name) is not an artifacts export: it does not start with MANIFEST.json")
      }
      var manifestBytes: [UInt8] = []
      try reader.readContent { manifestBytes.append(contentsOf: $0) }
      let manifest: ExportManifest
      do { manifest = try ExportManifest.decode(manifestBytes) } catch {
        throw ExportError(.notAnExport, "\(name): MANIFEST.json cannot be read: \(error)")
      }
      var byPath: [String: ExportManifest.Entry] = [:]
      for entry in manifest.entries { byPath[entry.path] = entry }
      var summary = ImportSummary()
      summary.files = Set(manifest.entries.map { "\($0.containerId)/\($0.fileId)" }).count
      var present = Set<String>()
      while let entry = try reader.next() {
        guard entry.kind == .file, let claimed = byPath[entry.path], present.insert(claimed.sha256).inserted else {
          continue  // directories, links (resolved through the manifest), repeats
        }
        guard let expected = Digest(hex: claimed.sha256) else {
          throw ExportError(.digestMismatch, "\(name): \(entry.path) has an invalid digest in the manifest")
        }
        do {
          let outcome = try store.blobs.ingest(expected: expected) { deliver in
            try reader.readContent { bytes throws(ExportError) in
              do { try deliver(bytes) } catch { throw ExportError(.io, "\(error)") }
            }
          }
          if outcome.stored { summary.stored += 1 }
          summary.bytes += outcome.size
        } catch let error as StoreError where error.code == .digestMismatch {
          throw ExportError(
            .digestMismatch, "\(name): \(entry.path) does not match its manifest digest (\(error.detail))")
        }
      }
      let files = manifest.entries.compactMap { entry -> ImportedFile? in
        guard present.contains(entry.sha256) || store.blobs.contains(Digest(hex: entry.sha256)!),
          let digest = Digest(hex: entry.sha256)
        else { return nil }
        return ImportedFile(
          containerID: entry.containerId, fileID: entry.fileId, filename: entry.filename, source: entry.source,
          digest: digest, size: entry.size, mediaType: entry.mediaType, archivedAt: entry.archivedAt,
          citations: entry.citations.map { citation in
            ImportedCitation(
              key: citation.key,
              response: citation.responseId.map {
                ResponseInfo(
                  id: $0, createdAt: citation.createdAt, model: citation.model,
                  previousResponseID: citation.previousResponseId)
              }, itemID: citation.itemId, filename: citation.filename, startIndex: citation.startIndex,
              endIndex: citation.endIndex, citedText: citation.citedText, log: citation.log, line: citation.line)
          })
      }
      let missing = manifest.entries.count - files.count
      if missing > 0 {
        throw ExportError(.malformedArchive, "\(name): \(missing) files listed in MANIFEST.json are not in the archive")
      }
      do { summary.added = try store.catalog.importFiles(files) } catch { throw ExportError(.io, error.description) }
      return summary
    } catch let error as ExportError {
      throw KitError(error.code == .io ? .unusableStore : .missingInput, error.message)
    } catch {
      throw KitError(.unusableStore, "\(error)")
    }
  }
}
