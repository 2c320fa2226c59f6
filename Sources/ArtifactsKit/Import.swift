// `import`: a colleague's export becomes part of this store. An archive is untrusted input
// (a broken download, an attacker's file): every byte is hashed and measured here, and an
// entry whose manifest disagrees with its bytes is refused by name. Nothing in it can crash
// the import; the worst it gets is a message.
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

  /// Largest MANIFEST.json read (a manifest of a million files is about 1 GiB smaller).
  static let manifestLimit: Int64 = 256 << 20

  /// Imports the archive `source` (a file, or a descriptor such as standard input).
  public func run(archive source: ByteStream) async throws(KitError) -> ImportSummary {
    try await blocking { () throws(KitError) in try self.read(source) }
  }

  private func read(_ source: ByteStream) throws(KitError) -> ImportSummary {
    let lock = try store.sharedLock()
    defer { lock.release() }
    let name = source.name
    let descriptor: Int32
    switch source {
    case .file(let path):
      descriptor = open(path, O_RDONLY | O_CLOEXEC)
      guard descriptor >= 0 else {
        throw KitError(.missingInput, "cannot read \(name): \(String(cString: strerror(errno)))")
      }
    case .descriptor(let given, _):
      descriptor = given
    }
    defer { if case .file = source { close(descriptor) } }
    do {
      return try importArchive(TarReader(descriptor: descriptor, name: name), name: name)
    } catch let error as ImportFailure {
      throw KitError(error.storeProblem ? .unusableStore : .missingInput, error.message)
    } catch let error as ExportError {
      throw KitError(error.code == .io ? .unusableStore : .missingInput, "\(name): \(error.message)")
    } catch {
      throw KitError(.unusableStore, "\(name): \(error)")
    }
  }

  private struct ImportFailure: Error {
    var message: String
    var storeProblem = false
  }

  private func importArchive(_ reader: TarReader, name: String) throws -> ImportSummary {
    guard let first = try reader.next(), first.path == "MANIFEST.json", first.kind == .file else {
      throw ImportFailure(message: "\(name) is not an artifacts export: it does not start with MANIFEST.json")
    }
    guard first.size <= Self.manifestLimit else {
      throw ImportFailure(message: "\(name): MANIFEST.json is \(first.size) bytes, more than any export writes")
    }
    var manifestBytes: [UInt8] = []
    try reader.readContent { manifestBytes.append(contentsOf: $0) }
    let manifest: ExportManifest
    do { manifest = try ExportManifest.decode(manifestBytes) } catch {
      throw ImportFailure(message: "\(name): \(error.message)")
    }

    // Every claim of the manifest is checked before it is believed.
    var digests: [String: Digest] = [:]
    var entryByPath: [String: (index: Int, entry: ExportManifest.Entry)] = [:]
    for (index, entry) in manifest.entries.enumerated() {
      let label = "entry \(index + 1) (\(Self.printable(entry.path)))"
      guard let digest = Digest(hex: entry.sha256) else {
        throw ImportFailure(
          message:
            "\(name): MANIFEST.json: \(label): sha256 \"\(Self.printable(entry.sha256))\" is not a SHA-256 digest")
      }
      guard entry.size >= 0 else {
        throw ImportFailure(message: "\(name): MANIFEST.json: \(label): size \(entry.size) is negative")
      }
      guard !entry.containerId.isEmpty, !entry.fileId.isEmpty else {
        throw ImportFailure(message: "\(name): MANIFEST.json: \(label): container_id and file_id must not be empty")
      }
      digests[entry.sha256] = digest
      if entryByPath[entry.path] == nil { entryByPath[entry.path] = (index, entry) }
    }

    // The bytes: hashed and measured as they are stored; their own digest and size are what
    // the catalog records.
    var sizes: [Digest: Int64] = [:]
    var summary = ImportSummary()
    summary.files = Set(manifest.entries.map { "\($0.containerId)/\($0.fileId)" }).count
    while let member = try reader.next() {
      guard member.kind == .file, let (index, claimed) = entryByPath[member.path],
        let expected = digests[claimed.sha256],
        sizes[expected] == nil
      else {
        continue  // directories, links (resolved through the manifest), repeats
      }
      let label = "entry \(index + 1) (\(Self.printable(member.path)))"
      let staged: StagedFile
      do {
        staged = try store.staging.stage(expected: expected) { deliver in
          try reader.readContent { bytes throws(ExportError) in
            do { try deliver(bytes) } catch { throw ExportError(.io, "\(error)") }
          }
        }
      } catch let error as StoreError where error.code == .digestMismatch {
        throw ImportFailure(message: "\(name): \(label) does not match its manifest digest (\(error.detail))")
      } catch let error as StoreError {
        throw ImportFailure(message: "\(name): \(label): \(error.description)", storeProblem: true)
      }
      guard staged.size == claimed.size else {
        unlink(staged.path)
        throw ImportFailure(
          message: "\(name): \(label): the manifest says \(claimed.size) bytes, the archive holds \(staged.size)")
      }
      let put = try backend { try store.blobs.put(stagedPath: staged.path, digest: staged.digest, size: staged.size) }
      if put.stored { summary.stored += 1 }
      summary.bytes += staged.size
      sizes[expected] = staged.size
    }

    // Entries whose bytes the archive does not carry must already be in this store, at the size
    // this store measured.
    let absent = Set(digests.values).subtracting(sizes.keys)
    if !absent.isEmpty {
      for file in try backend({ try store.catalog.files(withDigests: absent) }) {
        if let digest = file.digest, let size = file.size, try backend({ try store.blobs.contains(digest) }) {
          sizes[digest] = size
        }
      }
    }
    var files: [ImportedFile] = []
    var missing: [String] = []
    for (index, entry) in manifest.entries.enumerated() {
      guard let digest = digests[entry.sha256], let size = sizes[digest] else {
        missing.append(Self.printable(entry.path))
        continue
      }
      guard size == entry.size else {
        throw ImportFailure(
          message:
            "\(name): entry \(index + 1) (\(Self.printable(entry.path))): the manifest says \(entry.size) bytes, the content is \(size)"
        )
      }
      files.append(
        ImportedFile(
          containerID: entry.containerId, fileID: entry.fileId, filename: entry.filename, source: entry.source,
          digest: digest, size: size, mediaType: entry.mediaType, archivedAt: entry.archivedAt,
          citations: entry.citations))
    }
    if !missing.isEmpty {
      throw ImportFailure(
        message:
          "\(name): \(missing.count) file\(missing.count == 1 ? "" : "s") listed in MANIFEST.json \(missing.count == 1 ? "is" : "are") not in the archive: "
          + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? ", …" : ""))
    }
    let now = Date()
    summary.added = try backend { try store.catalog.importFiles(files, now: now) }
    return summary
  }

  /// Untrusted text in a message: control characters shown as escapes, and not too long.
  static func printable(_ text: String) -> String {
    let escaped = text.unicodeScalars.map { scalar -> String in
      scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
        ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
    }.joined()
    return escaped.count > 200 ? String(escaped.prefix(200)) + "…" : escaped
  }
}
