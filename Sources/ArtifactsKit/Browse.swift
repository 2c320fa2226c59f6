// Reading the archive: `find`, `show`, `cat` and every other front end ask here, and get the
// records Kit owns (FileRecord), never the catalog's rows.
import ArtifactsCore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

public struct Browse: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) { self.store = store }

  /// Files chosen by `query`, in its order.
  public func find(_ query: FindQuery) async throws(KitError) -> [FileRecord] {
    let store = self.store
    return try await blocking { () throws(KitError) in
      let files = try backend { try store.catalog.find(query) }
      return files.map { FileRecord($0, location: $0.digest.map(store.blobs.location)) }
    }
  }

  /// The same, each handed to `each` as it is read, none held (a list of tens of thousands
  /// of paths); returns how many were handed over.
  public func find(_ query: FindQuery, each: @escaping @Sendable (FileRecord) -> Void) async throws(KitError) -> Int {
    let store = self.store
    return try await blocking { () throws(KitError) in
      var count = 0
      try backend {
        try store.catalog.forEachFound(query) { file in
          count += 1
          each(FileRecord(file, location: file.digest.map(store.blobs.location)))
          return true
        }
      }
      return count
    }
  }

  /// The files `id` names (a `cfile_…` id, a digest or a prefix of one, or an exact name);
  /// `noMatch` when none does.
  public func files(named id: String) async throws(KitError) -> [FileRecord] {
    let store = self.store
    let files = try await blocking { () throws(KitError) in try backend { try store.catalog.lookup(id) } }
    guard !files.isEmpty else {
      throw KitError(
        .noMatch, "nothing in the store is called \(id) (try a cfile_ id, a digest prefix, or artifacts find \(id))")
    }
    return files.map { FileRecord($0, location: $0.digest.map(store.blobs.location)) }
  }

  /// The one content `id` names; `noMatch` when it names none, or several different contents.
  public func content(named id: String) async throws(KitError) -> FileRecord {
    let files = try await files(named: id)
    if Set(files.map { $0.sha256?.hex ?? "\($0.containerId)/\($0.fileId)" }).count > 1 {
      let list = files.map { "  \($0.fileId)  \($0.sha256?.short ?? $0.state.rawValue)  \($0.filename)" }
      throw KitError(
        .noMatch,
        "\(id) names \(files.count) files with different contents; use one of their ids:\n"
          + list.joined(separator: "\n"))
    }
    return files[0]
  }

  /// Writes the bytes of the content `id` names to `descriptor` (standard output for `cat`).
  public func write(contentNamed id: String, to descriptor: Int32, name: String) async throws(KitError) {
    let file = try await content(named: id)
    guard let digest = file.sha256 else {
      throw KitError(
        .noMatch,
        "\(file.filename) (\(file.fileId)) is \(file.state.rawValue)\(file.lastError.map { ": \($0)" } ?? ""); it has no bytes"
      )
    }
    let store = self.store
    try await blocking { () throws(KitError) in
      do {
        try store.blobs.read(digest) { bytes in try FileDescriptorWriter.write(bytes, to: descriptor, name: name) }
      } catch let error as KitError {
        throw error
      } catch {
        throw KitError(.unusableStore, "cannot read \(file.filename): \(error)")
      }
    }
  }
}

/// Writes all of a buffer to a descriptor, retrying short writes.
enum FileDescriptorWriter {
  static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, name: String) throws(KitError) {
    var written = 0
    while written < bytes.count {
      let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
      if result < 0 {
        if errno == EINTR { continue }
        throw KitError(.missingInput, "cannot write \(name): \(String(cString: strerror(errno)))")
      }
      written += result
    }
  }
}
