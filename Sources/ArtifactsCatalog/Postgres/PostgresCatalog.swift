// The catalog in PostgreSQL, shared by every host that syncs into one archive: the same roles
// as the SQLite catalog (the backend protocols in ArtifactsCore), over libpq. Hosts claim files
// with leases timed by the server's clock, keep their scan positions under their own name,
// and search names through pg_trgm.
import ArtifactsCore
import ArtifactsSchema
import CPostgres
import Foundation

public final class PostgresCatalog: Sendable {
  /// The catalog for messages: `postgresql://user@host:port/database`, never a password.
  public let location: String
  /// Whose scan positions this opener reads and writes (`ARTIFACTS_HOST`, else the hostname).
  public let host: String
  let pool: PostgresPool

  /// Several hosts opening a new catalog at once migrate it one at a time (an advisory lock
  /// of the session; the value is "artifacts" in ASCII).
  static let migrationLock: Int64 = 0x61_7274_6966_6163

  /// Connects (checking the URL and the credentials at once) and creates or migrates the
  /// schema as needed. `url` is anything libpq accepts: a `postgresql://` URI or `key=value`
  /// pairs, with the PG* variables, PGPASSWORD and ~/.pgpass filling in what it leaves out.
  public init(url: String, host: String, reconnectWindow: TimeInterval = 30) throws(CatalogError) {
    location = Self.describe(url)
    self.host = host
    pool = PostgresPool(conninfo: url, reconnectWindow: reconnectWindow)
    let connection: PostgresConnection
    do {
      connection = try pool.connectFirst()
    } catch {
      throw CatalogError(.cannotOpen, path: location, detail: error.message)
    }
    if let encoding = connection.parameter("server_encoding"), encoding != "UTF8" {
      throw CatalogError(
        .cannotOpen, path: location,
        detail: "the database's encoding is \(encoding); artifacts needs UTF8 (CREATE DATABASE … ENCODING 'UTF8')")
    }
    do {
      try pool.with { (connection) throws(PostgresFailure) in try Self.migrate(connection, location: location) }
    } catch {
      let wrapped = Self.wrap(error, location: location)
      throw CatalogError(
        wrapped.code == .newerSchema ? .newerSchema : .cannotOpen, path: location, detail: wrapped.detail)
    }
  }

  /// Whether `text` names a PostgreSQL catalog rather than a folder.
  public static func isPostgresURL(_ text: String) -> Bool {
    text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
      || (text.contains("=") && !text.contains("/") && text.contains("dbname"))
  }

  /// What the URL names, without its password: host, port, database and user as libpq reads
  /// them (variables it would use are not consulted, so this is what the user wrote).
  static func describe(_ url: String) -> String {
    guard cpq_load() else { return Self.redacted(url) }
    var error: UnsafeMutablePointer<CChar>?
    guard let options = cpq_conninfo_parse(url, &error) else {
      if let error { cpq_freemem(error) }
      return Self.redacted(url)
    }
    defer { cpq_conninfo_free(options) }
    var values: [String: String] = [:]
    var option = options
    while let keyword = option.pointee.keyword {
      if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
      option += 1
    }
    var text = "postgresql://"
    if let user = values["user"] { text += user + "@" }
    text += values["host"] ?? values["hostaddr"] ?? ""
    if let port = values["port"] { text += ":" + port }
    text += "/" + (values["dbname"] ?? "")
    return text
  }

  /// The URL with anything after `user:` and before `@` replaced, for a URL libpq cannot parse.
  static func redacted(_ url: String) -> String {
    guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex)
    else { return url.contains("password") ? "the PostgreSQL catalog" : url }
    let userInfo = url[scheme.upperBound..<at.lowerBound]
    let user = userInfo.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    return String(url[..<scheme.upperBound]) + user + String(url[at.lowerBound...])
  }

  private static func migrate(_ connection: PostgresConnection, location: String) throws(PostgresFailure) {
    // One round trip on every open of a current catalog; a new one has no table yet (42P01).
    func applied() throws(PostgresFailure) -> Set<String> {
      do throws(PostgresFailure) {
        let rows = try connection.execute("SELECT identifier FROM artifacts_migration")
        return Set((0..<rows.count).compactMap { rows.string($0, 0) })
      } catch  where error.state == "42P01" {
        return []
      }
    }
    let known = CatalogMigrations.postgres.map(\.identifier)
    func check(_ done: Set<String>) throws(PostgresFailure) -> Bool {
      if !done.isSubset(of: Set(known)) {
        throw PostgresFailure(
          message: "it was written by a newer version of artifacts; upgrade artifacts to use this catalog",
          connectionLost: false)
      }
      return done.count == known.count
    }
    if try check(try applied()) { return }
    try connection.execute("SELECT pg_advisory_lock($1)", [migrationLock])
    defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [migrationLock]) }
    try connection.executeScript(
      "CREATE TABLE IF NOT EXISTS artifacts_migration (identifier TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    let done = try applied()
    if try check(done) { return }
    for migration in CatalogMigrations.postgres where !done.contains(migration.identifier) {
      try connection.executeScript("BEGIN")
      do throws(PostgresFailure) {
        try connection.executeScript(migration.sql)
        try connection.execute("INSERT INTO artifacts_migration (identifier) VALUES ($1)", [migration.identifier])
        try connection.executeScript("COMMIT")
      } catch {
        _ = try? connection.executeScript("ROLLBACK")
        throw error
      }
    }
  }

  /// The migrations applied, oldest first.
  public func appliedMigrations() throws(CatalogError) -> [String] {
    try read { connection throws(PostgresFailure) in
      let rows = try connection.execute("SELECT identifier FROM artifacts_migration ORDER BY identifier")
      return (0..<rows.count).compactMap { rows.string($0, 0) }
    }
  }

  /// `body` on a connection in autocommit: one statement is its own transaction.
  func read<T>(_ body: (PostgresConnection) throws(PostgresFailure) -> T) throws(CatalogError) -> T {
    do { return try pool.with(body) } catch { throw Self.wrap(error, location: location) }
  }

  /// `body` in one transaction, run again from the start if the server went away or chose it
  /// as a deadlock's victim: what it does must be safe to do twice.
  func write<T>(_ body: (PostgresConnection) throws(PostgresFailure) -> T) throws(CatalogError) -> T {
    do {
      return try pool.with { (connection) throws(PostgresFailure) -> T in
        try connection.executeScript("BEGIN")
        do throws(PostgresFailure) {
          let value = try body(connection)
          try connection.executeScript("COMMIT")
          return value
        } catch {
          if connection.isUsable { _ = try? connection.executeScript("ROLLBACK") }
          throw error
        }
      }
    } catch { throw Self.wrap(error, location: location) }
  }

  /// The one place libpq's failures become catalog errors.
  static func wrap(_ error: PostgresFailure, location: String) -> CatalogError {
    if error.message.contains("newer version of artifacts") {
      return CatalogError(.newerSchema, path: location, detail: error.message)
    }
    let detail = error.connectionLost ? "lost the connection to the server: \(error.message)" : error.message
    return CatalogError(.queryFailed, path: location, detail: detail)
  }
}

/// PostgreSQL's array literal, NULL where a value is nil: `{"a",NULL,"b\"c"}`.
func postgresArray(_ values: some Sequence<String?>) -> String {
  "{"
    + values.map { value in
      guard let value else { return "NULL" }
      return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        + "\""
    }.joined(separator: ",") + "}"
}

func postgresArray(_ values: some Sequence<String>) -> String { postgresArray(values.map { Optional($0) }) }

/// PostgreSQL's array literal for integers: `{1,2,3}`.
func postgresArray(_ values: some Sequence<Int64>) -> String {
  "{" + values.map(String.init).joined(separator: ",") + "}"
}
