// libpq behind two small types: a connection that runs statements with text parameters (each
// fixed statement prepared once per connection), and a pool that hands connections to one
// caller at a time and reconnects when the server went away (a restart, a failover).
import CPostgres
import Foundation
import Synchronization

/// What went wrong talking to PostgreSQL, before it becomes a `CatalogError`.
struct PostgresFailure: Error, Sendable, CustomStringConvertible {
  var message: String
  /// The server's SQLSTATE, when it answered.
  var state: String?
  /// The connection is gone (or never came up): worth reconnecting and trying again.
  var connectionLost: Bool

  var description: String { message }

  /// Deadlocks and serialisation failures: the transaction is safe to run again.
  var isRetryable: Bool { state == "40P01" || state == "40001" }

  /// libpq's messages end with a newline and sometimes span lines; one line reads better.
  static func tidy(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      .joined(separator: "; ")
  }
}

/// A value sent as a statement parameter, in PostgreSQL's text form.
protocol PostgresParameter {
  var postgresText: String { get }
}

extension String: PostgresParameter { var postgresText: String { self } }
extension Int: PostgresParameter { var postgresText: String { String(self) } }
extension Int64: PostgresParameter { var postgresText: String { String(self) } }
extension Double: PostgresParameter { var postgresText: String { String(self) } }
extension Bool: PostgresParameter { var postgresText: String { self ? "true" : "false" } }

/// The rows a statement returned, read in text form (the result is freed with this value).
final class PostgresResult {
  private let handle: OpaquePointer
  let count: Int
  /// Columns in each row.
  let columns: Int
  /// Rows the statement changed (INSERT, UPDATE, DELETE).
  let changed: Int

  init(_ handle: OpaquePointer) {
    self.handle = handle
    count = Int(cpq_ntuples(handle))
    columns = Int(cpq_nfields(handle))
    changed = Int(String(cString: cpq_cmd_tuples(handle))) ?? 0
  }

  deinit { cpq_clear(handle) }

  func string(_ row: Int, _ column: Int) -> String? {
    guard row < count, cpq_getisnull(handle, Int32(row), Int32(column)) == 0 else { return nil }
    return String(cString: cpq_getvalue(handle, Int32(row), Int32(column)))
  }

  func int(_ row: Int, _ column: Int) -> Int64? { string(row, column).flatMap { Int64($0) } }

  func bool(_ row: Int, _ column: Int) -> Bool? { string(row, column).map { $0 == "t" } }
}

/// One connection, used by one thread at a time (the pool sees to that).
final class PostgresConnection: @unchecked Sendable {
  private let handle: OpaquePointer
  /// Fixed statements prepared on this connection, by their SQL.
  private var prepared: [String: String] = [:]

  init(conninfo: String) throws(PostgresFailure) {
    guard cpq_load() else {
      throw PostgresFailure(message: String(cString: cpq_load_error()), connectionLost: false)
    }
    guard let handle = cpq_connectdb(conninfo) else {
      throw PostgresFailure(message: "out of memory connecting", connectionLost: true)
    }
    guard cpq_status(handle) == CONNECTION_OK else {
      let message = PostgresFailure.tidy(String(cString: cpq_error_message(handle)))
      cpq_finish(handle)
      // A refused password or an unknown database stays refused; a server not (yet) up does not.
      let refused = [
        "password authentication failed", "does not exist", "no pg_hba.conf entry", "no password supplied",
      ]
      throw PostgresFailure(message: message, connectionLost: !refused.contains { message.contains($0) })
    }
    cpq_drop_notices(handle)
    self.handle = handle
  }

  deinit { cpq_finish(handle) }

  var isUsable: Bool { cpq_status(handle) == CONNECTION_OK }

  /// The server's setting `name` as reported at connection (server_encoding, server_version).
  func parameter(_ name: String) -> String? {
    cpq_parameter_status(handle, name).map { String(cString: $0) }
  }

  /// Runs `sql` with `parameters` ($1, $2, …). `prepared`: a fixed statement run often, parsed
  /// and planned once per connection.
  @discardableResult
  func execute(_ sql: String, _ parameters: [(any PostgresParameter)?] = [], prepared: Bool = false)
    throws(PostgresFailure) -> PostgresResult
  {
    let texts = parameters.map { $0?.postgresText }
    var name: String?
    if prepared {
      if let known = self.prepared[sql] {
        name = known
      } else {
        let fresh = "s\(self.prepared.count)"
        try check(cpq_prepare(handle, fresh, sql), sql).map { _ in () }
        self.prepared[sql] = fresh
        name = fresh
      }
    }
    let result = withCStrings(texts) { pointers in
      if let name { return cpq_exec_prepared(handle, name, Int32(pointers.count), pointers) }
      return cpq_exec_params(handle, sql, Int32(pointers.count), pointers)
    }
    return try check(result, sql)!
  }

  /// Runs several statements in one string (migrations, BEGIN/COMMIT); no parameters.
  func executeScript(_ sql: String) throws(PostgresFailure) {
    _ = try check(cpq_exec(handle, sql), sql)
  }

  private func check(_ result: OpaquePointer?, _ sql: String) throws(PostgresFailure) -> PostgresResult? {
    guard let result else {
      throw PostgresFailure(
        message: PostgresFailure.tidy(String(cString: cpq_error_message(handle))), connectionLost: !isUsable)
    }
    let status = cpq_result_status(result)
    guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
      let message = PostgresFailure.tidy(String(cString: cpq_result_error_message(result)))
      let state = cpq_result_error_field(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
      cpq_clear(result)
      // 57P01..57P03: the server is shutting down or starting; 08xxx: the connection failed.
      let lost = !isUsable || state?.hasPrefix("08") == true || state?.hasPrefix("57P") == true
      throw PostgresFailure(message: message, state: state, connectionLost: lost)
    }
    return PostgresResult(result)
  }
}

/// C strings for the lifetime of `body`; nil stays a null pointer (SQL NULL).
private func withCStrings<T>(_ texts: [String?], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
  let copies = texts.map { $0.map { strdup($0)! } }
  defer { copies.forEach { free($0) } }
  return body(copies.map { $0.map { UnsafePointer($0) } })
}

/// Connections to one catalog, each used by one caller at a time. A connection that fails
/// with the server gone is dropped and the work is tried again on a new one, for as long as
/// `reconnectWindow` allows; past that the failure is the caller's.
final class PostgresPool: Sendable {
  let conninfo: String
  let reconnectWindow: TimeInterval
  private let idle = Mutex<[PostgresConnection]>([])
  /// At most this many connections at once: a host's workers, its scan, its renewals.
  private let slots: DispatchSemaphore

  init(conninfo: String, maximumConnections: Int = 8, reconnectWindow: TimeInterval) {
    self.conninfo = conninfo
    self.reconnectWindow = reconnectWindow
    slots = DispatchSemaphore(value: maximumConnections)
  }

  /// Opens the first connection now, so a wrong URL or password is said at once.
  func connectFirst() throws(PostgresFailure) -> PostgresConnection {
    let connection = try PostgresConnection(conninfo: conninfo)
    idle.withLock { $0.append(connection) }
    return connection
  }

  /// `body` on a connection of its own. `body` may run more than once (the server went away
  /// mid-way, a deadlock): what it does must be safe to do again, as a transaction is.
  func with<T>(_ body: (PostgresConnection) throws(PostgresFailure) -> T) throws(PostgresFailure) -> T {
    slots.wait()
    defer { slots.signal() }
    let deadline = Date().addingTimeInterval(reconnectWindow)
    var deadlocks = 0
    while true {
      let connection: PostgresConnection
      do {
        connection = try take()
      } catch {
        guard error.connectionLost, Date() < deadline else { throw error }
        usleep(250_000)
        continue
      }
      do {
        let value = try body(connection)
        give(back: connection)
        return value
      } catch {
        if error.connectionLost && Date() < deadline { continue }  // the connection is dropped
        if error.isRetryable && deadlocks < 5 {
          deadlocks += 1
          give(back: connection)
          continue
        }
        if connection.isUsable { give(back: connection) }
        throw error
      }
    }
  }

  private func take() throws(PostgresFailure) -> PostgresConnection {
    while let connection = idle.withLock({ $0.popLast() }) {
      if connection.isUsable { return connection }
    }
    return try PostgresConnection(conninfo: conninfo)
  }

  private func give(back connection: PostgresConnection) {
    guard connection.isUsable else { return }
    idle.withLock { $0.append(connection) }
  }
}
