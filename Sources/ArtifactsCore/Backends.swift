// The seams between the use cases (ArtifactsKit) and the engines that keep the archive. The
// catalog is split along the roles the use cases play — recording scans, the work queue, the
// archive index, maintenance — and the bytes live behind a blob backend. The SQLite catalog
// and the local blob store are the first implementations; a shared catalog (PostgreSQL) or
// object storage (S3) implement the same protocols.
//
// Implementations throw their own module's error type; callers treat any error from a
// backend as "the store cannot be used" and show its description, which names the path, URL
// or id involved.
import Foundation

/// Recording what scans found, and where each log was left.
public protocol ScanRecorder: Sendable {
  /// The identity each log had when it was last read, by path (an unchanged log costs one `stat`).
  func logIdentities() throws -> [String: LogFileIdentity]
  /// Where the last scan of `path` stopped, if it can be resumed.
  func logCheckpoint(path: String) throws -> LogCheckpoint?
  /// Everything one log contributed, and its new checkpoint, in one transaction.
  func record(_ contribution: LogContribution, now: Date) throws -> RecordOutcome
  /// A log renamed from `from` to `to` keeps its scan position under the new name, if the
  /// position is of the file now at `to` (`identity`); whatever appears at `from` next is
  /// read from its start. Returns whether the position moved.
  func carryCheckpoint(from: String, to: String, identity: LogFileIdentity) throws -> Bool
  /// How many of the files with these row ids are archived.
  func archivedCount(among files: [Int64]) throws -> Int
}

/// The download queue: which files wait, who is downloading them, and what became of them.
public protocol WorkQueue: Sendable {
  /// Files still to download (`pending`, and `failed` ones, which every run retries),
  /// earliest container deadline first.
  func pendingWork() throws -> [WorkItem]
  /// Up to `limit` files still to download whose row id is above `after`, in row-id order:
  /// the queue read a page at a time, so a run holds a bounded window of it. Row ids grow
  /// as citations are recorded, so the order is roughly the order files were cited in.
  func pendingWork(after: Int64, limit: Int) throws -> [WorkItem]
  /// How many files are still to download.
  func pendingCount() throws -> Int
  /// Of `files`, those still to download.
  func pendingWork(among files: Set<ContainerFileRef>) throws -> [WorkItem]
  /// The current state of each of `files` the catalog knows.
  func states(of files: Set<ContainerFileRef>) throws -> [ContainerFileRef: FileState]
  /// Takes a lease on `item` for `lease.owner` until `lease.expiresAt`. False when the file
  /// is no longer waiting, or another owner holds a lease that has not expired and that
  /// `isHeldByLiveOwner` does not disprove.
  func claim(_ item: WorkItem, lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws -> Bool
  /// `claim` for many files in one transaction; returns whether each was claimed, in order.
  func claim(_ items: [WorkItem], lease: Lease, isHeldByLiveOwner: (String) -> Bool) throws -> [Bool]
  /// Extends the leases `owner` holds on `items` (a transfer still running).
  func renew(_ items: [WorkItem], lease: Lease) throws
  /// The commit point of ingests: each file's blob and its new state together, all of them in
  /// one transaction.
  func markArchived(_ archivings: [Archiving], now: Date) throws
  /// `lost` (the server's word) or `failed` (retried by the next run), with the reason.
  func markUnarchived(_ item: WorkItem, state: FileState, reason: UnarchivedReason, attempts: Int) throws
  /// What a probe said: the container's status and its deadline on the local clock.
  func recordContainerStatus(_ id: String, status: String, deadline: Date?, now: Date) throws
  /// Files found by listing a container that no citation names; returns the new work.
  func addUncitedFiles(containerID: String, files: [(id: String, path: String)], now: Date) throws -> [WorkItem]
  /// File ids the catalog knows in a container.
  func knownFileIDs(containerID: String) throws -> Set<String>
}

/// What `find`, `show`, `cat` and `export` read.
public protocol ArchiveIndex: Sendable {
  func find(_ query: FindQuery) throws -> [FoundFile]
  /// The same files, handed to `body` in order as they are read, so a long list is never
  /// held whole; `body` returns false to stop.
  func forEachFound(_ query: FindQuery, _ body: (FoundFile) -> Bool) throws
  /// Files an id names: a file id, a digest or a prefix of one (4+ hex digits), else an exact name.
  func lookup(_ id: String) throws -> [FoundFile]
  /// Every file whose bytes are one of `digests`, with provenance.
  func files(withDigests digests: Set<Digest>) throws -> [FoundFile]
  /// How many files are in one of `states` (cheap for the rare states, lost and failed).
  func count(in states: Set<FileState>) throws -> Int
}

extension ArchiveIndex {
  /// By default, the list `find` returns.
  public func forEachFound(_ query: FindQuery, _ body: (FoundFile) -> Bool) throws {
    try forEach(inListOf: query, body)
  }

  /// `body` for each file of the list `find` returns (what a backend does when it cannot
  /// stream, as when citations are to be attached).
  public func forEach(inListOf query: FindQuery, _ body: (FoundFile) -> Bool) throws {
    for file in try find(query) {
      guard body(file) else { return }
    }
  }
}

/// What `check`, `gc`, `import` and repair ask of the catalog.
public protocol CatalogMaintenance: Sendable {
  /// The engine's own consistency checks; empty when sound.
  func integrityProblems() throws -> [String]
  func blobRecords() throws -> [BlobRecord]
  /// Never verified first, then the longest ago.
  func blobsByVerificationAge() throws -> [BlobRecord]
  func markVerified(_ digests: [Digest], now: Date) throws
  /// Forgets files (and blob rows nothing uses any more); returns the digests freed.
  func forget(_ files: [FoundFile]) throws -> [Digest]
  /// Whether any row refers to `digest`: such a blob is never deleted.
  func isReferenced(_ digest: Digest) throws -> Bool
  /// Puts the files whose bytes are `digest` back to pending; returns their work.
  func resetForRepair(_ digest: Digest, problem: String) throws -> [WorkItem]
  /// Prefixes the reason of those of `items` that ended lost.
  func prefixLossReason(_ items: [WorkItem], with prefix: String) throws
  /// Records files that arrive with their bytes and provenance; returns how many were new.
  func importFiles(_ files: [ImportedFile], now: Date) throws -> Int
}

/// A catalog plays all four roles.
public typealias CatalogBackend = ScanRecorder & WorkQueue & ArchiveIndex & CatalogMaintenance

/// Where the bytes live: content-addressed, written once, never modified. Bytes are staged
/// in a local file first (hashed while they arrive), then put.
public protocol BlobBackend: Sendable {
  /// Makes `stagedPath` (a complete local file of `size` bytes hashing to `digest`) the blob
  /// for `digest`, consuming the file. When the blob already exists the file is dropped.
  func put(stagedPath: String, digest: Digest, size: Int64) throws -> PutOutcome
  /// `put` for many staged files. When `storesBatchesCheaply`, the downloader hands its
  /// finished files over in batches (a local disk: one flush for all of them); otherwise it
  /// calls `put` for each, concurrently (an object store: one upload each).
  func putAll(_ staged: [StagedBlob]) throws -> [PutOutcome]
  var storesBatchesCheaply: Bool { get }
  func contains(_ digest: Digest) throws -> Bool
  /// Hands the bytes to `body` in chunks.
  func read(_ digest: Digest, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
  /// Re-reads the bytes and compares their hash with the name.
  func verify(_ digest: Digest) throws -> Bool
  /// Everything stored (and anything else found where blobs live).
  func list() throws -> [StoredBlob]
  func remove(_ blob: StoredBlob) throws
  /// Moves damaged bytes aside: kept for inspection, never served again.
  func quarantine(_ digest: Digest) throws
  /// Where a user finds the bytes: an absolute path for a local store, a URI otherwise.
  func location(of digest: Digest) -> BlobLocation
}

extension WorkQueue {
  /// `markArchived` for one file.
  public func markArchived(
    _ item: WorkItem, digest: Digest, size: Int64, mediaType: String, attempts: Int, now: Date = Date()
  ) throws {
    try markArchived(
      [Archiving(item: item, digest: digest, size: size, mediaType: mediaType, attempts: attempts)], now: now)
  }
}

/// A downloaded file's bytes, stored, and what the catalog records of them.
public struct Archiving: Sendable {
  public var item: WorkItem
  public var digest: Digest
  public var size: Int64
  public var mediaType: String
  public var attempts: Int

  public init(item: WorkItem, digest: Digest, size: Int64, mediaType: String, attempts: Int) {
    self.item = item
    self.digest = digest
    self.size = size
    self.mediaType = mediaType
    self.attempts = attempts
  }
}

/// A complete local file of `size` bytes hashing to `digest`, to become that blob.
public struct StagedBlob: Sendable {
  public var path: String
  public var digest: Digest
  public var size: Int64

  public init(path: String, digest: Digest, size: Int64) {
    self.path = path
    self.digest = digest
    self.size = size
  }
}

extension BlobBackend {
  /// One `put` after another; a backend that can make many files durable at once for less
  /// says so with `storesBatchesCheaply` and overrides this.
  public func putAll(_ staged: [StagedBlob]) throws -> [PutOutcome] {
    try staged.map { try put(stagedPath: $0.path, digest: $0.digest, size: $0.size) }
  }

  public var storesBatchesCheaply: Bool { false }
}

public struct PutOutcome: Sendable, Equatable {
  /// False when identical bytes were already stored (deduplicated).
  public var stored: Bool

  public init(stored: Bool) { self.stored = stored }
}

public enum BlobLocation: Sendable, Equatable, CustomStringConvertible {
  /// A file anyone on this machine can open.
  case path(String)
  /// Somewhere else (`s3://bucket/key`).
  case uri(String)

  /// The path or the URI, for messages.
  public var text: String {
    switch self {
    case .path(let path): path
    case .uri(let uri): uri
    }
  }

  public var description: String { text }
}

/// A blob (or a stray file) found where blobs live.
public struct StoredBlob: Sendable, Equatable {
  /// Nil when the name is not a digest (or it is in the wrong place): a stray file.
  public var digest: Digest?
  /// The backend's own name for it (a path, a key).
  public var name: String
  public var size: Int64
  public var modified: Date

  public init(digest: Digest?, name: String, size: Int64, modified: Date) {
    self.digest = digest
    self.name = name
    self.size = size
    self.modified = modified
  }
}

/// A claim on a file while it is downloaded. It lapses by itself: a run that dies frees its
/// files once `expiresAt` has passed, whatever machine it ran on.
public struct Lease: Sendable, Equatable {
  /// The run holding it.
  public var owner: String
  public var expiresAt: Date
  /// The moment the claim is made, on the same clock.
  public var now: Date

  public init(owner: String, now: Date, duration: TimeInterval) {
    self.owner = owner
    self.now = now
    self.expiresAt = now.addingTimeInterval(duration)
  }
}

/// One file to download.
public struct WorkItem: Sendable, Hashable {
  public var rowID: Int64
  public var file: ContainerFileRef
  public var filename: String
  /// When the container may be gone, if any response (or a probe) dates it.
  public var deadline: Date?

  public init(rowID: Int64, file: ContainerFileRef, filename: String, deadline: Date?) {
    self.rowID = rowID
    self.file = file
    self.filename = filename
    self.deadline = deadline
  }
}

public struct BlobRecord: Sendable, Hashable {
  public var digest: Digest
  public var size: Int64

  public init(digest: Digest, size: Int64) {
    self.digest = digest
    self.size = size
  }
}

/// A file that arrives with its bytes already stored and its provenance (an import).
public struct ImportedFile: Sendable {
  public var containerID: String
  public var fileID: String
  public var filename: String
  public var source: String
  public var digest: Digest
  public var size: Int64
  public var mediaType: String
  public var archivedAt: String?
  public var citations: [CitationRecord]

  public init(
    containerID: String, fileID: String, filename: String, source: String, digest: Digest, size: Int64,
    mediaType: String, archivedAt: String?, citations: [CitationRecord]
  ) {
    self.containerID = containerID
    self.fileID = fileID
    self.filename = filename
    self.source = source
    self.digest = digest
    self.size = size
    self.mediaType = mediaType
    self.archivedAt = archivedAt
    self.citations = citations
  }
}

/// What one scanned log contributes to the catalog.
public struct LogContribution: Sendable {
  public var path: String
  public var format: LogFormat
  public var citations: [Citation]
  public var sightings: [ContainerSighting]
  public var responses: [ResponseRecord]
  /// Images from the log itself, already in the blob store.
  public var inlineImages: [StoredInlineImage]
  /// Where the next scan of this log may start.
  public var checkpoint: LogCheckpoint?

  public init(
    path: String, format: LogFormat, citations: [Citation], sightings: [ContainerSighting],
    responses: [ResponseRecord], inlineImages: [StoredInlineImage] = [], checkpoint: LogCheckpoint? = nil
  ) {
    self.path = path
    self.format = format
    self.citations = citations
    self.sightings = sightings
    self.responses = responses
    self.inlineImages = inlineImages
    self.checkpoint = checkpoint
  }
}

/// An inline image whose bytes the blob store holds under `digest`.
public struct StoredInlineImage: Sendable {
  public var image: InlineImage
  public var digest: Digest
  public var size: Int64
  public var mediaType: String

  public init(image: InlineImage, digest: Digest, size: Int64, mediaType: String) {
    self.image = image
    self.digest = digest
    self.size = size
    self.mediaType = mediaType
  }
}

public struct RecordOutcome: Sendable, Equatable {
  /// Container files the catalog had never seen: new work.
  public var newFiles = 0
  /// Citations the catalog had never seen.
  public var newCitations = 0
  /// The catalog's row ids of the files the citations name, each once: a pass counts the
  /// distinct files it saw with 8 bytes each instead of their names.
  public var citedFiles: [Int64] = []

  public init(newFiles: Int = 0, newCitations: Int = 0, citedFiles: [Int64] = []) {
    self.newFiles = newFiles
    self.newCitations = newCitations
    self.citedFiles = citedFiles
  }
}

/// Where time comes from, so the scheduler, keep-alive and leases can be tested with a clock
/// that moves only when a test says so.
public protocol WallClock: Sendable {
  func now() -> Date
  /// Suspends for `seconds` of this clock's time; throws when the task is cancelled.
  func sleep(seconds: Double) async throws
}

/// The real clock.
public struct SystemClock: WallClock {
  public init() {}
  public func now() -> Date { Date() }
  public func sleep(seconds: Double) async throws {
    try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
  }
}
