// `check`: does the store tell the truth? The catalog is checked by SQLite itself, every blob
// it names must be on disk at the right size, every blob on disk must be named by it, and
// (with --read-data) blobs are re-hashed, least recently verified first, so a check with a
// budget resumes where the last one stopped.
import ArtifactsCore
import Foundation

public struct CheckOptions: Sendable {
  public enum ReadData: Sendable, Equatable {
    case all
    /// This share (0-100) of the blobs.
    case percent(Double)
    /// As many blobs as fit in this many seconds.
    case seconds(Double)
  }

  public var readData: ReadData?

  public init(readData: ReadData? = nil) { self.readData = readData }
}

public struct DamagedFile: Sendable, Codable, Equatable {
  public var filename: String
  public var containerID: String
  public var fileID: String
  public var sha256: Digest
  /// `missing`, `size mismatch` or `corrupt`.
  public var problem: String
  public var detail: String
  /// Every citing response, with the log and line it was read from.
  public var citedBy: [String]
}

public struct CheckReport: Sendable, Codable, Equatable {
  public var catalogProblems: [String] = []
  public var blobsInCatalog = 0
  public var blobsOnDisk = 0
  /// Blob files no catalog row names (left by an interrupted run; gc removes them).
  public var unreferenced: [String] = []
  /// Files in the blob tree that are not named by a digest.
  public var stray: [String] = []
  public var blobsVerified = 0
  public var bytesVerified: Int64 = 0
  /// Blobs not re-hashed this time (a budget) — the next check starts with them.
  public var blobsNotVerified = 0
  public var damaged: [DamagedFile] = []

  public var isClean: Bool { catalogProblems.isEmpty && damaged.isEmpty }
}

public struct Check: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) { self.store = store }

  /// `progress` hears the bytes re-hashed so far and the total planned (on the thread doing
  /// the work).
  public func run(_ options: CheckOptions, progress: (@Sendable (Int64, Int64) -> Void)? = nil) async throws(KitError)
    -> CheckReport
  {
    try await blocking { () throws(KitError) in try self.check(options, progress: progress) }
  }

  private func check(_ options: CheckOptions, progress: (@Sendable (Int64, Int64) -> Void)?) throws(KitError)
    -> CheckReport
  {
    var report = CheckReport()
    report.catalogProblems = try backend { try store.catalog.integrityProblems() }
    let records = try backend { try store.catalog.blobRecords() }
    let onDisk = try backend { try store.blobs.list() }
    report.blobsInCatalog = records.count
    report.blobsOnDisk = onDisk.count
    var sizes: [Digest: Int64] = [:]
    for blob in onDisk {
      if let digest = blob.digest { sizes[digest] = blob.size } else { report.stray.append(blob.name) }
    }
    let named = Set(records.map(\.digest))
    report.unreferenced = onDisk.compactMap { blob in blob.digest.flatMap { named.contains($0) ? nil : blob.name } }

    var problems: [Digest: (String, String)] = [:]
    for record in records {
      guard let size = sizes[record.digest] else {
        problems[record.digest] = ("missing", "\(store.blobs.location(of: record.digest).text) does not exist")
        continue
      }
      if size != record.size {
        problems[record.digest] = ("size mismatch", "the catalog says \(record.size) bytes, the file has \(size)")
      }
    }
    if let scope = options.readData {
      try verify(
        scope, records: records, skipping: Set(problems.keys), into: &report, problems: &problems, progress: progress)
    }
    let files = try backend { try store.catalog.files(withDigests: Set(problems.keys)) }
    report.damaged = files.compactMap { file in
      guard let digest = file.digest, let (problem, detail) = problems[digest] else { return nil }
      return DamagedFile(
        filename: file.filename, containerID: file.containerID, fileID: file.fileID, sha256: digest, problem: problem,
        detail: detail,
        citedBy: file.citations.map { citation in
          [citation.responseID, citation.log.map { "\($0)\(citation.line.map { ":\($0)" } ?? "")" }]
            .compactMap { $0 }.joined(separator: " from ")
        })
    }
    return report
  }

  private func verify(
    _ scope: CheckOptions.ReadData, records: [BlobRecord], skipping: Set<Digest>, into report: inout CheckReport,
    problems: inout [Digest: (String, String)], progress: (@Sendable (Int64, Int64) -> Void)?
  ) throws(KitError) {
    var order = try backend { try store.catalog.blobsByVerificationAge() }
    order.removeAll { skipping.contains($0.digest) }
    var budget: Date?
    switch scope {
    case .all: break
    case .percent(let share): order = Array(order.prefix(Int((Double(order.count) * share / 100).rounded(.up))))
    case .seconds(let seconds): budget = Date().addingTimeInterval(seconds)
    }
    let total = order.reduce(Int64(0)) { $0 + $1.size }
    var verified: [Digest] = []
    for record in order {
      if let budget, Date() >= budget { break }
      // A mismatch is read once more before the blob is called corrupt: a flaky read is not
      // damage on disk.
      let intact = (try? store.blobs.verify(record.digest)) == true || (try? store.blobs.verify(record.digest)) == true
      if intact {
        verified.append(record.digest)
      } else {
        problems[record.digest] = ("corrupt", "its bytes no longer hash to \(record.digest.hex) (read twice)")
      }
      report.blobsVerified += 1
      report.bytesVerified += record.size
      progress?(report.bytesVerified, total)
      if verified.count >= 500 {
        let batch = verified
        try backend { try store.catalog.markVerified(batch, now: Date()) }
        verified = []
      }
    }
    let rest = verified
    try backend { try store.catalog.markVerified(rest, now: Date()) }
    report.blobsNotVerified = order.count - report.blobsVerified
  }
}

/// What `check --repair` did.
public struct RepairSummary: Sendable, Codable, Equatable {
  /// Damaged files downloaded again from their (still alive) containers.
  public var repaired = 0
  /// Damaged files whose container is gone: now `lost`, with the damage in their reason.
  public var lost = 0
  public var failed = 0
}

extension Check {
  /// Moves the damaged bytes aside and downloads the affected files again while their
  /// containers still exist; the rest become `lost`, with the damage named in their reason.
  public func repair(_ report: CheckReport, sink: any EventSink, api: APISettings, jobs: Int = 8) async throws(KitError)
    -> RepairSummary
  {
    let store = self.store
    let damaged = Dictionary(report.damaged.map { ($0.sha256, $0.problem) }, uniquingKeysWith: { first, _ in first })
    let reset = try await blocking { () throws(KitError) -> [(items: [WorkItem], problem: String)] in
      let lock = try store.sharedLock()
      defer { lock.release() }
      return try damaged.sorted { $0.key < $1.key }.map { digest, problem throws(KitError) in
        try backend {
          try store.blobs.quarantine(digest)
          return (try store.catalog.resetForRepair(digest, problem: problem), problem)
        }
      }
    }
    let work = reset.flatMap(\.items)
    guard !work.isEmpty else { return RepairSummary() }
    let pipeline = try Pipeline(
      store: store, sink: sink, options: PipelineOptions(jobs: jobs, citedOnly: true),
      configuration: try api.configuration())
    pipeline.start()
    await pipeline.feed(work, containers: [])
    let counts = try await pipeline.finish()
    try await blocking { () throws(KitError) in
      for (items, problem) in reset {
        try backend { try store.catalog.prefixLossReason(items, with: "stored bytes damaged (\(problem)); then ") }
      }
    }
    return RepairSummary(repaired: counts.archived, lost: counts.lost, failed: counts.failed)
  }
}
