// `gc`: removes what nothing needs — blobs no catalog row names (once older than a grace
// period, so a sync that has stored a blob but not yet committed its row keeps it), partial
// files of dead runs, and, only when asked, archived files matching a selection. It works
// under the store's exclusive lock, so it cannot race a sync, and it re-checks every blob
// against the catalog just before deleting it.
import ArtifactsCore
import Foundation

public struct GCOptions: Sendable {
  /// Delete; without it gc only says what it would delete.
  public var apply: Bool
  public var grace: TimeInterval
  /// Archived files to forget as well (nil: none).
  public var forget: FindQuery?

  public init(apply: Bool = false, grace: TimeInterval = 24 * 3600, forget: FindQuery? = nil) {
    self.apply = apply
    self.grace = grace
    self.forget = forget
  }
}

public struct GCReport: Sendable, Codable, Equatable {
  public struct Item: Sendable, Codable, Equatable {
    /// `unreferenced blob`, `stray file` or `archived file`.
    public var kind: String
    public var path: String?
    public var filename: String?
    public var containerID: String?
    public var fileID: String?
    public var bytes: Int64
  }

  public var applied = false
  public var items: [Item] = []
  public var bytes: Int64 = 0
  public var partialFiles = 0
}

public struct GarbageCollect: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) { self.store = store }

  public func run(_ options: GCOptions) async throws(KitError) -> GCReport {
    try await blocking { () throws(KitError) in try self.collect(options) }
  }

  private func collect(_ options: GCOptions) throws(KitError) -> GCReport {
    let lock = try store.exclusiveLock()
    defer { lock.release() }
    var report = GCReport()
    report.applied = options.apply
    if options.apply { report.partialFiles = store.staging.removeAbandoned() }

    // Archived files to forget, when asked: their rows go, and their blobs if nothing else uses them.
    var forgotten: Set<Digest> = []
    if var selection = options.forget {
      selection.states = [.archived]
      let files = try backend { try store.catalog.find(selection) }
      for file in files {
        report.items.append(
          .init(
            kind: "archived file", path: nil, filename: file.filename, containerID: file.containerID,
            fileID: file.fileID, bytes: file.size ?? 0))
      }
      if options.apply {
        forgotten = Set(try backend { try store.catalog.forget(files) })
      }
    }
    let referenced = Set(try backend { try store.catalog.blobRecords() }.map(\.digest))
    let cutoff = Date().addingTimeInterval(-options.grace)
    for blob in try backend({ try store.blobs.list() }) {
      let isForgotten = blob.digest.map { forgotten.contains($0) } ?? false
      if let digest = blob.digest, referenced.contains(digest), !isForgotten { continue }
      guard isForgotten || blob.modified < cutoff else { continue }  // young: its row may be on its way
      if !isForgotten {
        report.items.append(
          .init(
            kind: blob.digest == nil ? "stray file" : "unreferenced blob", path: blob.name, filename: nil,
            containerID: nil, fileID: nil, bytes: blob.size))
      }
      report.bytes += blob.size
      guard options.apply else { continue }
      // Never a blob a catalog row names, whatever happened since the list was made.
      if let digest = blob.digest,
        try backend({ try store.catalog.isReferenced(digest) })
      {
        continue
      }
      try backend { try store.blobs.remove(blob) }
    }
    if options.forget != nil && !options.apply {
      report.bytes += report.items.filter { $0.kind == "archived file" }.reduce(0) { $0 + $1.bytes }
    }
    return report
  }
}
