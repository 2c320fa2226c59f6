// A store directory: the blob store and its catalog, opened together.
import ArtifactsCatalog
import ArtifactsStore
import Foundation

public struct KitError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    /// The store cannot be created, opened or written.
    case unusableStore
    /// Configuration or credentials are missing or wrong.
    case configuration
    /// The API refused the credentials.
    case credentialsRejected
    /// Input paths that do not exist.
    case missingInput
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }
}

public final class ArtifactStore: Sendable {
  public let blobs: BlobStore
  public let catalog: Catalog

  public var root: String { blobs.root }

  /// Where the store lives when `--store` is not given: `$ARTIFACTS_HOME`, else
  /// `$XDG_DATA_HOME/artifacts`, else `~/.local/share/artifacts`.
  public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let home = environment["ARTIFACTS_HOME"], !home.isEmpty { return home }
    if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/artifacts" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return home + "/.local/share/artifacts"
  }

  /// The shared store lock, for work that adds or reads stored files (sync, import, export,
  /// repair): gc, which removes, waits for all of them to finish.
  func sharedLock() throws(KitError) -> StoreLock {
    do { return try blobs.lock(exclusive: false, wait: false) } catch {
      throw KitError(.unusableStore, "\(error.description); try again when it has finished")
    }
  }

  /// Opens the store at `root`, creating it when needed. With `access: .read` (commands that
  /// only read) a current catalog is opened without writing anything.
  public init(root: String, access catalogAccess: Catalog.Access = .readWrite) throws(KitError) {
    // SQLite would only say "unable to open database file"; say what is wrong.
    if access(root, W_OK) != 0 && errno == EROFS {
      throw KitError(.unusableStore, "cannot use the store at \(root): it is on a read-only file system")
    }
    do {
      blobs = try BlobStore(root: root)
    } catch {
      throw KitError(.unusableStore, "cannot use the store at \(root): \(error.detail)")
    }
    do {
      catalog = try Catalog(path: blobs.catalogPath, access: catalogAccess)
    } catch {
      throw KitError(.unusableStore, error.description)
    }
  }
}
