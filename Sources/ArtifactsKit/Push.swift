// `push`: copies a local store's blobs into the bucket `--blobs` names, so a solo user's
// archive becomes a team's. Each blob is re-hashed before it goes (damaged bytes are never
// spread) and confirmed by the server after; one already in the bucket is skipped after a
// HEAD, so an interrupted push resumes where it stopped. The catalog is not changed: it names
// bytes by their digest, wherever they are kept.
import ArtifactsCore
import ArtifactsStore
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

public struct PushReport: Sendable, Codable, Equatable {
  /// Blobs the catalog names.
  public var blobs = 0
  public var uploaded = 0
  public var bytesUploaded: Int64 = 0
  /// Already in the bucket (an earlier push, or another host's sync).
  public var alreadyStored = 0
  /// Local bytes that no longer hash to their name: not uploaded (`check --repair` mends them).
  public var damaged: [Digest] = []
  /// Named by the catalog, but neither in the local store nor in the bucket.
  public var missing: [Digest] = []

  public var isComplete: Bool { damaged.isEmpty && missing.isEmpty }
}

public struct Push: Sendable {
  public let store: ArtifactStore

  public init(store: ArtifactStore) { self.store = store }

  /// `progress` hears the blobs handled so far and the total (on the thread doing the work).
  public func run(jobs: Int = 8, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws(KitError) -> PushReport {
    let store = self.store
    guard !(store.blobs is LocalBlobStore) else {
      throw KitError(
        .configuration, "push copies the local store's blobs into a bucket: name it with --blobs s3://BUCKET/PREFIX")
    }
    let records = try await blocking { () throws(KitError) in try backend { try store.catalog.blobRecords() } }
    let done = Counter()
    let results = await concurrentMap(records, limit: max(1, jobs)) { record in
      let outcome = await blocking { () -> Result<BlobOutcome, KitError> in
        Result { () throws(KitError) in try Self.push(record, store: store) }
      }
      progress?(done.increment(), records.count)
      return outcome
    }
    var report = PushReport(blobs: records.count)
    for (record, result) in zip(records, results) {
      switch result {
      case .success(.uploaded):
        report.uploaded += 1
        report.bytesUploaded += record.size
      case .success(.alreadyStored): report.alreadyStored += 1
      case .success(.damaged): report.damaged.append(record.digest)
      case .success(.missing): report.missing.append(record.digest)
      case .failure(let error): throw error
      }
    }
    return report
  }

  enum BlobOutcome: Sendable { case uploaded, alreadyStored, damaged, missing }

  private static func push(_ record: BlobRecord, store: ArtifactStore) throws(KitError) -> BlobOutcome {
    let local = store.localBlobs
    if try backend({ try store.blobs.contains(record.digest) }) { return .alreadyStored }
    guard local.contains(record.digest) else { return .missing }
    guard try backend({ try local.verify(record.digest) }) else { return .damaged }
    // The upload consumes its staged file: stage a second name for the blob, not the blob.
    let staged = try backend { try store.staging.makeTemporaryPath() }
    guard link(local.path(for: record.digest), staged) == 0 else {
      throw KitError(
        .unusableStore,
        "cannot link \(local.path(for: record.digest)) to \(staged): \(String(cString: strerror(errno)))")
    }
    let put = try backend {
      defer { unlink(staged) }
      return try store.blobs.put(stagedPath: staged, digest: record.digest, size: record.size)
    }
    return put.stored ? .uploaded : .alreadyStored
  }
}

/// Counts across tasks.
final class Counter: Sendable {
  private let value = Mutex(0)

  func increment() -> Int {
    value.withLock {
      $0 += 1; return $0
    }
  }
}
