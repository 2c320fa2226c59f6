// The catalog: the single source of truth for what is pending, archived, lost or failed, and
// for where every file came from. One owner type holds the database and offers
// intention-revealing methods; SQL constraints carry the invariants.
import ArtifactsCore
import ArtifactsSchema
import Foundation
import GRDB

public final class Catalog: Sendable {
  public let path: String
  let writer: any DatabaseWriter

  /// What the opener will do with the catalog.
  public enum Access: Sendable {
    /// Creates and migrates the catalog as needed.
    case readWrite
    /// Commands that only read (find, show, cat, export): a catalog that exists and is
    /// current is opened as it is, with one connection and without writing anything.
    case read
  }

  /// Opens (creating and migrating as needed) the catalog at `path`, in WAL mode, private to
  /// its owner (0600).
  public init(path: String, access: Access = .readWrite) throws(CatalogError) {
    self.path = path
    let configuration = Self.configuration()
    if access == .read, let queue = Self.openCurrent(path: path, configuration: configuration) {
      writer = queue
      return
    }
    // Opening a new catalog (switching it to WAL) and migrating are done one process at a time:
    // syncs started together on a new store would otherwise trip over each other.
    let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    if lock >= 0 {
      while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
    }
    defer {
      if lock >= 0 { close(lock) }
    }
    do {
      let pool = try DatabasePool(path: path, configuration: configuration)
      chmod(path, 0o600)
      writer = pool
      try Self.migrate(pool, path: path)
    } catch {
      throw CatalogError.wrap(error, .cannotOpen, path: path)
    }
  }

  private static func configuration() -> Configuration {
    var configuration = Configuration()
    configuration.busyMode = .timeout(30)
    configuration.foreignKeysEnabled = true
    configuration.label = "artifacts.catalog"
    configuration.prepareDatabase { db in
      // In WAL mode NORMAL still never corrupts the database; a power cut may lose the last
      // commits, which only leaves blobs (fsynced before their commit) to be adopted or
      // collected later, as DESIGN.md allows. FULL would fsync on every commit.
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
      // Statement journals and sorts in memory: on disk (the default) a statement whose
      // triggers touch more than 64 KiB of pages (recording a segment of citations, a batch
      // of archived files) spilled its journal to a file in /var/tmp, page by page; that was
      // 333,000 of the 421,000 writes of a sync of 10,000 files.
      try db.execute(sql: "PRAGMA temp_store = MEMORY")
      // No memory map (SQLite's default): a find of 62,500 names out of 1,000,000 took 0.11 s
      // and 737 MiB of resident pages mapped, against 0.07 s and 7 MiB with reads; listing
      // all of them was no faster either. A watcher's memory does not grow with its catalog.
      db.add(function: NameFolding.containsFunction)
    }
    return configuration
  }

  /// The catalog at `path` on one connection, if it exists, is in WAL mode and needs no
  /// migration; nil sends the caller down the full path (lock, create, migrate), which also
  /// reports a catalog from a newer version. Opening a pool instead would write: GRDB makes
  /// sure a WAL file exists by committing a transaction, which costs two fsyncs per `find`.
  private static func openCurrent(path: String, configuration: Configuration) -> DatabaseQueue? {
    guard access(path, R_OK | W_OK) == 0 else { return nil }
    do {
      let queue = try DatabaseQueue(path: path, configuration: configuration)
      let migrator = Self.migrator
      let current = try queue.read { db in
        try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal"
          && !migrator.hasBeenSuperseded(db) && migrator.hasCompletedMigrations(db)
      }
      return current ? queue : nil
    } catch {
      return nil
    }
  }

  /// An in-memory catalog for tests.
  public init(inMemory: ()) throws(CatalogError) {
    path = ":memory:"
    do {
      let queue = try DatabaseQueue(configuration: Self.configuration())
      writer = queue
      try Self.migrate(queue, path: path)
    } catch {
      throw CatalogError.wrap(error, .cannotOpen, path: path)
    }
  }

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    for migration in CatalogMigrations.all {
      migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
    }
    return migrator
  }

  private static func migrate(_ writer: any DatabaseWriter, path: String) throws {
    let migrator = Self.migrator
    let (superseded, current) = try writer.read { db in
      (try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db))
    }
    if superseded {
      throw CatalogError(
        .newerSchema, path: path,
        detail: "it was written by a newer version of artifacts; upgrade artifacts to use this store")
    }
    // Migrating takes the write lock; a catalog that is already current only needs the read.
    guard !current else { return }
    try migrator.migrate(writer)
  }

  /// The migrations applied, oldest first.
  public func appliedMigrations() throws(CatalogError) -> [String] {
    try read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
  }

  func read<T>(_ body: (Database) throws -> T) throws(CatalogError) -> T {
    do { return try writer.read(body) } catch { throw CatalogError.wrap(error, path: path) }
  }

  func write<T>(_ body: (Database) throws -> T) throws(CatalogError) -> T {
    do { return try writer.write(body) } catch { throw CatalogError.wrap(error, path: path) }
  }
}

/// Timestamps as the catalog stores them: ISO-8601 UTC with milliseconds, sortable as text.
enum CatalogTime {
  static func string(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
  }

  static func string(unixSeconds: Int64) -> String {
    string(Date(timeIntervalSince1970: TimeInterval(unixSeconds)))
  }
}

extension Database {
  /// `execute(sql:arguments:)` with the statement compiled once per connection: recording a
  /// log runs the same few statements for each of thousands of citations, and compiling them
  /// each time cost more than running them. One statement only (no `;` lists).
  func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }

  /// `fetchOne(_:sql:arguments:)` with the statement compiled once per connection.
  func fetchOneCached<Value: DatabaseValueConvertible & StatementColumnConvertible>(
    _ type: Value.Type, sql: String, arguments: StatementArguments = StatementArguments()
  ) throws -> Value? {
    try Value.fetchOne(cachedStatement(sql: sql), arguments: arguments)
  }
}
