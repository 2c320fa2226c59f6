// `export`: the selected archived files, with a MANIFEST.json of their provenance, as one tar
// (or tar.gz) that GNU tar, bsdtar and Python's tarfile all read, and that can never write
// outside the directory it is extracted into.
import ArtifactsCore
import ArtifactsExport
import Foundation

public typealias ExportLayout = ArtifactsExport.ExportLayout

/// Where bytes go, or come from: a file by its path, or a descriptor the front end already
/// holds (standard output for `export -`, standard input for `import -`).
public enum ByteStream: Sendable {
  case file(String)
  case descriptor(Int32, name: String)

  var name: String {
    switch self {
    case .file(let path): path
    case .descriptor(_, let name): name
    }
  }
}

public struct ExportOptions: Sendable {
  public var query: FindQuery
  public var layout: ExportLayout
  /// gzip level (0-9), or nil for a plain tar.
  public var gzipLevel: Int32?
  public var destination: ByteStream

  public init(query: FindQuery, layout: ExportLayout = .byResponse, gzipLevel: Int32? = nil, destination: ByteStream) {
    self.query = query
    self.layout = layout
    self.gzipLevel = gzipLevel
    self.destination = destination
  }
}

public struct ExportSummary: Sendable, Codable, Equatable {
  /// Distinct files exported (one cited by two responses counts once).
  public var files = 0
  /// Entries written as hard links (the same bytes appearing again).
  public var links = 0
  /// Content bytes (each distinct content counted once).
  public var bytes: Int64 = 0
  /// Size of the archive written.
  public var archiveBytes: Int64 = 0
}

public struct Export: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) {
    self.store = store
  }

  /// Writes the archive; `progress` is told the content bytes written so far and the total
  /// (on the thread doing the work).
  public func run(_ options: ExportOptions, progress: (@Sendable (Int64, Int64) -> Void)? = nil) async throws(KitError)
    -> ExportSummary
  {
    try await blocking { () throws(KitError) in try self.write(options, progress: progress) }
  }

  func write(_ options: ExportOptions, progress: (@Sendable (Int64, Int64) -> Void)?) throws(KitError)
    -> ExportSummary
  {
    let lock = try store.sharedLock()
    defer { lock.release() }
    var query = options.query
    query.states = [.archived]  // only archived files have bytes
    let files = try backend { try store.catalog.find(query) }
    let items = files.compactMap(Self.item)
    let plan = ExportPlan(items: items, layout: options.layout)
    guard !plan.entries.isEmpty else { return ExportSummary() }  // nothing to write: no archive

    let output = try ExportOutput(destination: options.destination)
    do {
      let sink: any ByteSink =
        if let level = options.gzipLevel { try GzipSink(level: level, into: output.sink) } else { output.sink }
      var tar = TarWriter(sink: sink)
      try tar.file("MANIFEST.json", bytes: plan.manifest.encoded(), modified: plan.newest)
      for directory in plan.directories { try tar.directory(directory.path, modified: directory.modified) }
      var summary = ExportSummary()
      summary.files = Set(items.map { "\($0.containerID)/\($0.fileID)" }).count
      let total = plan.entries.filter { $0.linkTo == nil }.reduce(Int64(0)) { $0 + items[$1.item].size }
      var written: Int64 = 0
      for entry in plan.entries {
        let item = items[entry.item]
        if let target = entry.linkTo {
          summary.links += 1
          try tar.hardLink(entry.path, to: target, modified: entry.modified)
          continue
        }
        let digest = item.digest
        try tar.file(entry.path, size: item.size, modified: entry.modified) { emit throws(ExportError) in
          do {
            try store.blobs.read(digest) { bytes in
              try emit(bytes)
              written += Int64(bytes.count)
              progress?(written, total)
            }
          } catch let error as ExportError {
            throw error
          } catch {
            throw ExportError(.io, "\(error)")
          }
        }
        summary.bytes += item.size
      }
      try tar.finish()
      summary.archiveBytes = try output.commit()
      return summary
    } catch {
      output.abandon()
      throw KitError(.unusableStore, error.message)
    }
  }

  static func item(_ file: FoundFile) -> ExportItem? {
    guard let digest = file.digest, let size = file.size else { return nil }
    let archived = file.archivedAt.flatMap {
      try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
    return ExportItem(
      digest: digest, size: size, mediaType: file.mediaType ?? "application/octet-stream",
      containerID: file.containerID, fileID: file.fileID, filename: file.filename, source: file.source,
      archivedAt: file.archivedAt, archivedAtSeconds: archived.map { Int64($0.timeIntervalSince1970) },
      citations: file.citations)
  }
}

/// The archive's destination: standard output, or a temporary file renamed into place only
/// once the archive is complete (an interrupted export leaves no half archive behind).
final class ExportOutput {
  let sink: DescriptorSink
  private let descriptor: Int32
  private let destination: String?
  private let temporaryPath: String?

  init(destination stream: ByteStream) throws(KitError) {
    let destination: String
    switch stream {
    case .descriptor(let descriptor, let name):
      self.destination = nil
      self.descriptor = descriptor
      temporaryPath = nil
      sink = DescriptorSink(descriptor: descriptor, name: name)
      return
    case .file(let path):
      destination = path
    }
    self.destination = destination
    let url = URL(fileURLWithPath: destination)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(
      ".\(url.lastPathComponent).\(UUID().uuidString).part"
    ).path
    descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw KitError(.missingInput, "cannot write \(destination): \(String(cString: strerror(errno)))")
    }
    temporaryPath = temporary
    sink = DescriptorSink(descriptor: descriptor, name: destination)
  }

  /// Makes the archive final; returns its size.
  func commit() throws(ExportError) -> Int64 {
    guard let temporaryPath, let destination else { return sink.bytesWritten }
    guard fsync(descriptor) == 0 else {
      throw ExportError(.io, "fsync \(destination): \(String(cString: strerror(errno)))")
    }
    close(descriptor)
    guard rename(temporaryPath, destination) == 0 else {
      throw ExportError(.io, "rename to \(destination): \(String(cString: strerror(errno)))")
    }
    return sink.bytesWritten
  }

  func abandon() {
    guard let temporaryPath else { return }
    close(descriptor)
    unlink(temporaryPath)
  }
}
