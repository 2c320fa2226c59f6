// `migrate-catalog`: moves a store's local SQLite catalog into PostgreSQL, so the archive one
// machine built becomes a team's. The copy is one transaction into an empty catalog; the local
// catalog is left as it was (the store keeps working without --catalog until the switch). The
// bytes are not moved: they stay in the store directory (`push` copies them into a bucket).
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsStore
import Foundation

public struct CatalogMigrationReport: Sendable, Codable, Equatable {
  public var source: String
  public var destination: String
  public var files: Int
  public var citations: Int
  public var responses: Int
  public var containers: Int
  public var blobs: Int
  /// Logs whose scan positions moved with them (now this host's).
  public var logs: Int
  /// The host the scan positions are kept under.
  public var host: String
}

public struct MigrateCatalog: Sendable {
  public let storeRoot: String
  public let destination: CatalogSettings

  public init(storeRoot: String, destination: CatalogSettings) {
    self.storeRoot = storeRoot
    self.destination = destination
  }

  public func run() async throws(KitError) -> CatalogMigrationReport {
    guard case .postgres(let url) = destination.location else {
      throw KitError(
        .configuration, "migrate-catalog copies into PostgreSQL: --to postgresql://USER@HOST:PORT/DATABASE")
    }
    let root = storeRoot
    let window = destination.reconnectWindow
    return try await blocking { () throws(KitError) -> CatalogMigrationReport in
      let store = try ArtifactStore(root: root, access: .existing)
      // No sync or gc of this store changes the catalog while it is copied.
      let lock = try store.exclusiveLock()
      defer { lock.release() }
      guard let local = store.catalog as? Catalog else {
        throw KitError(.configuration, "the store at \(store.root) has no local catalog to migrate")
      }
      do throws(CatalogError) {
        let shared = try PostgresCatalog(url: url, host: StagingArea.hostName, reconnectWindow: window)
        let counts = try shared.copy(from: local)
        return CatalogMigrationReport(
          source: local.path, destination: shared.location, files: counts.files, citations: counts.citations,
          responses: counts.responses, containers: counts.containers, blobs: counts.blobs, logs: counts.logs,
          host: shared.host)
      } catch {
        throw KitError(.unusableStore, error.description)
      }
    }
  }
}
