// A store: the catalog, the blobs and the staging area, opened together behind the backend
// protocols, so every use case works the same whatever engines keep the archive.
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsFetch
import ArtifactsObjectStore
import ArtifactsStore
import Foundation

public struct KitError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    /// The store cannot be created, opened or written.
    case unusableStore
    /// No store exists where one was named (only sync and import create one).
    case noStore
    /// Configuration or credentials are missing or wrong.
    case configuration
    /// The API refused the credentials.
    case credentialsRejected
    /// Input paths that do not exist, or input that cannot be used (an archive that is not an export).
    case missingInput
    /// Nothing in the store matches what was asked for.
    case noMatch
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }
}

/// What a command will do with the store it opens.
public enum StoreAccess: Sendable {
  /// Creates the store if it does not exist (sync, import).
  case create
  /// The store must exist; it may be written (check, gc).
  case existing
  /// The store must exist; nothing is written (find, show, cat, export).
  case read
}

/// Where a store keeps its bytes: beside its catalog, or in an S3-compatible bucket.
public struct BlobSettings: Sendable {
  public enum Location: Sendable, Equatable {
    case local
    /// `s3://BUCKET/PREFIX`.
    case objectStore(String)
  }

  public var location: Location
  /// Where the credentials and the endpoint are read from (the AWS variables).
  public var environment: [String: String]
  public var userAgent: String
  /// Uploads at once.
  public var jobs: Int
  /// How hard each request to the object store is tried before the run stops (the files it
  /// could not store stay pending).
  public var retryPolicy: RetryPolicy

  public static let local = BlobSettings(location: .local)

  public init(
    location: Location, environment: [String: String] = [:], userAgent: String = "artifacts",
    jobs: Int = PipelineOptions.defaultJobs, retryPolicy: RetryPolicy = RetryPolicy()
  ) {
    self.location = location
    self.environment = environment
    self.userAgent = userAgent
    self.jobs = jobs
    self.retryPolicy = retryPolicy
  }

  /// `--blobs`, else `ARTIFACTS_BLOBS`, else the local store.
  public static func chosen(option: String?, environment: [String: String], userAgent: String) -> BlobSettings {
    let named = option ?? environment["ARTIFACTS_BLOBS"].flatMap { $0.isEmpty ? nil : $0 }
    return BlobSettings(
      location: named.map { .objectStore($0) } ?? .local, environment: environment, userAgent: userAgent)
  }
}

/// Where a store keeps its catalog: `catalog.sqlite` in the store directory, or a PostgreSQL
/// database that many hosts share.
public struct CatalogSettings: Sendable {
  public enum Location: Sendable, Equatable {
    case local
    /// A `postgresql://` URL (or libpq `key=value` pairs); may hold a password, never shown.
    case postgres(String)
  }

  public var location: Location
  /// How long a lost connection is retried before the command stops (a database restarting).
  public var reconnectWindow: TimeInterval

  public static let local = CatalogSettings(location: .local)

  public init(location: Location, reconnectWindow: TimeInterval = 30) {
    self.location = location
    self.reconnectWindow = reconnectWindow
  }

  /// `--catalog`, else `ARTIFACTS_CATALOG`, else the store directory's SQLite catalog.
  public static func chosen(option: String?, environment: [String: String]) throws(KitError) -> CatalogSettings {
    guard let named = option ?? environment["ARTIFACTS_CATALOG"].flatMap({ $0.isEmpty ? nil : $0 }) else {
      return .local
    }
    guard PostgresCatalog.isPostgresURL(named) else {
      throw KitError(
        .configuration,
        "--catalog takes a PostgreSQL URL (postgresql://USER@HOST:PORT/DATABASE); the local catalog is the store directory's"
      )
    }
    var settings = CatalogSettings(location: .postgres(named))
    if let seconds = environment["ARTIFACTS_CATALOG_RECONNECT_SECONDS"].flatMap(Double.init), seconds >= 0 {
      settings.reconnectWindow = seconds
    }
    return settings
  }
}

public final class ArtifactStore: Sendable {
  public let root: String
  let catalog: any CatalogBackend
  let blobs: any BlobBackend
  /// The blob tree beside the catalog: where the bytes are unless `--blobs` names a bucket,
  /// and what `push` copies from.
  let localBlobs: LocalBlobStore
  let staging: StagingArea
  private let lockPath: String
  /// What the user should know about the store as it was opened (an object store that
  /// ignores conditional writes).
  public let notices: [String]

  /// Where the store lives when `--store` is not given: `$ARTIFACTS_HOME`, else
  /// `$XDG_DATA_HOME/artifacts`, else `~/.local/share/artifacts`.
  public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let home = environment["ARTIFACTS_HOME"], !home.isEmpty { return home }
    if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/artifacts" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return home + "/.local/share/artifacts"
  }

  /// Opens the local store at `root`: the SQLite catalog and the blob tree beside it.
  public static func open(
    root: String, access: StoreAccess, blobs: BlobSettings = .local,
    catalog: CatalogSettings = .local
  ) async throws(KitError) -> ArtifactStore {
    try await blocking { () throws(KitError) in
      try ArtifactStore(root: root, access: access, blobs: blobs, catalog: catalog)
    }
  }

  /// The same, for callers that are not async (tests, tools); blocks the calling thread.
  /// With a shared catalog the store directory holds only what is this host's (staging, the
  /// local blob tree, thumbnails) and is made when missing.
  public init(
    root: String, access: StoreAccess = .create, blobs settings: BlobSettings = .local,
    catalog catalogSettings: CatalogSettings = .local
  ) throws(KitError) {
    let standardized = URL(fileURLWithPath: root).standardizedFileURL.path
    let catalogPath = standardized + "/catalog.sqlite"
    if case .postgres = catalogSettings.location {
      try? FileManager.default.createDirectory(
        atPath: standardized, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } else if access != .create && Foundation.access(catalogPath, F_OK) != 0 {
      var isDirectory: ObjCBool = false
      let what =
        FileManager.default.fileExists(atPath: standardized, isDirectory: &isDirectory) && isDirectory.boolValue
        ? "\(standardized) is not an artifacts store (it has no catalog.sqlite)"
        : "no store at \(standardized)"
      throw KitError(.noStore, "\(what); artifacts sync or import creates one there, or name another with --store")
    }
    // SQLite would only say "unable to open database file"; say what is wrong.
    if Foundation.access(standardized, W_OK) != 0 && errno == EROFS && access != .read {
      throw KitError(.unusableStore, "cannot use the store at \(standardized): it is on a read-only file system")
    }
    let local: LocalBlobStore
    do {
      local = try LocalBlobStore(root: standardized)
    } catch {
      throw KitError(.unusableStore, "cannot use the store at \(standardized): \(error.detail)")
    }
    let staging = StagingArea(directory: standardized + "/tmp")
    var notices: [String] = []
    localBlobs = local
    switch settings.location {
    case .local:
      blobs = local
    case .objectStore(let uri):
      let bucket = try Self.openBucket(uri, settings: settings, access: access, staging: staging)
      if !bucket.honoursConditionalWrites {
        notices.append(
          "\(bucket.client.configuration.endpointURL) ignores If-None-Match (a conditional write replaced an object): each upload asks with a HEAD first, so deduplication holds, but two hosts storing the same new bytes at once both upload them"
        )
      }
      blobs = bucket
    }
    self.notices = notices
    do {
      switch catalogSettings.location {
      case .local:
        catalog = try Catalog(path: catalogPath, access: access == .read ? .read : .readWrite)
      case .postgres(let url):
        catalog = try PostgresCatalog(
          url: url, host: StagingArea.hostName, reconnectWindow: catalogSettings.reconnectWindow)
      }
    } catch {
      throw KitError(.unusableStore, error.description)
    }
    self.root = standardized
    self.staging = staging
    lockPath = standardized + "/lock"
  }

  /// The bucket, checked before anything is written to it: credentials, existence, whether
  /// conditional writes are honoured.
  static func openBucket(_ uri: String, settings: BlobSettings, access: StoreAccess, staging: StagingArea)
    throws(KitError) -> S3BlobStore
  {
    do {
      let configuration = try ObjectStoreConfiguration.fromEnvironment(
        settings.environment, location: uri, userAgent: settings.userAgent)
      let client = ObjectStoreClient(
        configuration: configuration, maximumConcurrent: settings.jobs, policy: settings.retryPolicy)
      return try S3BlobStore(client: client, forWriting: access != .read) { try staging.makeTemporaryPath() }
    } catch let error as FetchError {
      throw KitError(.configuration, error.message)
    } catch let error as ObjectStoreError {
      throw KitError(.unusableStore, error.message)
    } catch {
      throw KitError(.unusableStore, "\(error)")
    }
  }

  /// Where the catalog is, for messages: its file, or `postgresql://USER@HOST:PORT/DATABASE`.
  public var catalogDescription: String {
    if let shared = catalog as? PostgresCatalog { return shared.location }
    return root + "/catalog.sqlite"
  }

  /// Where the bytes are, for messages: "on disk", or "in s3://BUCKET/PREFIX".
  public var blobsDescription: String {
    if let bucket = blobs as? S3BlobStore { return "in \(bucket.client.configuration.uri)" }
    return "on disk"
  }

  /// The shared store lock, for work that adds or reads stored files: gc, which removes,
  /// waits for all of them to finish. Held only as long as that work lasts.
  func sharedLock() throws(KitError) -> StoreLock {
    do { return try StoreLock(path: lockPath, exclusive: false, wait: false) } catch {
      throw KitError(.unusableStore, "\(error.description); try again when it has finished")
    }
  }

  /// The same, waiting for a gc that is running to finish (a long-lived sync pauses for it).
  func sharedLockWaiting() throws(KitError) -> StoreLock {
    do { return try StoreLock(path: lockPath, exclusive: false, wait: true) } catch {
      throw KitError(.unusableStore, error.description)
    }
  }

  /// The store to itself (gc).
  func exclusiveLock() throws(KitError) -> StoreLock {
    do { return try StoreLock(path: lockPath, exclusive: true, wait: false) } catch {
      throw KitError(.unusableStore, "\(error.description); gc needs the store to itself, try again when it is done")
    }
  }
}

/// Runs blocking work (file I/O, SQLite, fsync) on a Dispatch queue rather than on Swift's
/// cooperative pool, whose few threads must never block.
func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(returning: body()) }
  }
}

/// `body` for every element, at most `limit` at once; the results in the elements' order.
func concurrentMap<Element: Sendable, Result: Sendable>(
  _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async -> Result
) async -> [Result] {
  await withTaskGroup(of: (Int, Result).self) { group in
    var results = [Result?](repeating: nil, count: elements.count)
    var next = 0
    func startNext(_ group: inout TaskGroup<(Int, Result)>) {
      guard next < elements.count else { return }
      let index = next
      let element = elements[index]
      group.addTask { (index, await body(element)) }
      next += 1
    }
    for _ in 0..<max(1, limit) { startNext(&group) }
    while let (index, result) = await group.next() {
      results[index] = result
      startNext(&group)
    }
    return results.map { $0! }
  }
}

/// `blocking` for work that fails with a KitError.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(KitError) -> T) async throws(KitError) -> T {
  let result: Result<T, KitError> = await blocking { () -> Result<T, KitError> in
    Result { () throws(KitError) in try body() }
  }
  return try result.get()
}

/// A backend's error surfaces as an unusable store, with the backend's own words (which name
/// the path, URL or id involved).
func backend<T>(_ body: () throws -> T) throws(KitError) -> T {
  do { return try body() } catch let error as KitError { throw error } catch {
    throw KitError(.unusableStore, "\(error)")
  }
}
