// PostgreSQL from Debian's packages as the shared catalog's server for tests: a throwaway
// cluster made with initdb in a temporary folder the `postgres` user can reach (PostgreSQL
// refuses to run as root), started with pg_ctl on a free port of 127.0.0.1 with password
// (SCRAM) authentication. One server per test run; each test makes its own database.
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

public final class TestPostgres: @unchecked Sendable {
  public static func shared() throws -> TestPostgres { try sharedServer.get() }

  private static let sharedServer: Result<TestPostgres, any Error> = Result {
    let server = try TestPostgres(in: "/tmp/artifacts-postgres-\(getpid())")
    atexit { try? TestPostgres.sharedServer.get().stop() }
    return server
  }

  public static let user = "artifacts"
  public static let password = "artifacts-test-password-4711"

  public let directory: String
  public private(set) var port = 0
  private let binaries: String
  private let databases = Mutex(0)

  /// The folder of initdb and pg_ctl: the newest Debian cluster version installed.
  static func binaryFolder() -> String? {
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    return versions.compactMap(Int.init).sorted().last.map { "/usr/lib/postgresql/\($0)/bin" }
  }

  public init(in directory: String) throws {
    guard let binaries = Self.binaryFolder() else {
      throw TestServerError("PostgreSQL is not installed: apt-get install postgresql")
    }
    self.binaries = binaries
    self.directory = directory
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data((Self.password + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/password"))
    try asPostgres(["chown", "-R", "postgres:postgres", directory], asRoot: true)
    try asPostgres([
      binaries + "/initdb", "-D", directory + "/data", "-U", Self.user, "-E", "UTF8", "--locale=C.UTF-8",
      "--auth=scram-sha-256", "--pwfile=" + directory + "/password",
    ])
    var started: Int?
    for _ in 0..<5 {
      let port = freePort()
      if (try? start(port: port)) != nil {
        started = port
        break
      }
    }
    guard let started else { throw TestServerError("PostgreSQL did not start; see \(directory)/log") }
    port = started
  }

  private func start(port: Int) throws {
    // The server outlives pg_ctl; Foundation waits for every holder of a descriptor it gives
    // its child to close it, so the server must not inherit any but 0-2 (closed here first).
    try asPostgres(
      [
        "/usr/bin/python3", "-c", "import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])",
      ] + [
        binaries + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "-o",
        "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start",
      ])
  }

  /// Stops the server, fast (open connections are cut, as in a crash of the clients' view).
  public func stopServer() throws {
    try asPostgres([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "stop"])
  }

  /// Starts it again on the same port.
  public func startServer() throws { try start(port: port) }

  public func stop() throws {
    try? stopServer()
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// A new, empty database; its URL carries no password (see `environment`).
  public func makeDatabase(_ label: String = "test") throws -> String {
    let number = databases.withLock { count in
      count += 1
      return count
    }
    let name = "\(label)_\(getpid())_\(number)".lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }
    try psql("CREATE DATABASE \(name) ENCODING 'UTF8' TEMPLATE template0")
    return "postgresql://\(Self.user)@127.0.0.1:\(port)/\(name)"
  }

  /// The URL with the password in it, for in-process catalogs (no environment to carry it).
  public func urlWithPassword(_ url: String) -> String {
    url.replacingOccurrences(of: "://\(Self.user)@", with: "://\(Self.user):\(Self.password)@")
  }

  /// What a command needs to reach the server: the password as libpq reads it.
  public var environment: [String: String] { ["PGPASSWORD": Self.password] }

  /// Runs SQL as the superuser; returns what psql printed (unaligned, tuples only).
  @discardableResult
  public func psql(_ sql: String, database: String = "postgres") throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [
      "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d",
      database, "-c", sql,
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["PGPASSWORD"] = Self.password
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    let complaint = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw TestServerError("psql \(sql): \(String(decoding: complaint, as: UTF8.self))")
    }
    return String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Runs a command as the `postgres` user when this process is root (initdb refuses root).
  private func asPostgres(_ command: [String], asRoot: Bool = false) throws {
    let process = Process()
    if getuid() == 0 && !asRoot {
      process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
      process.arguments = ["-u", "postgres", "--"] + command
    } else {
      if getuid() != 0 && asRoot { return }  // not root: the folder is already ours
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = command
    }
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    // Into a file, not a pipe: the server pg_ctl starts would keep a pipe open for its life.
    let errorsPath = NSTemporaryDirectory() + "artifacts-postgres-\(getpid())-\(UUID().uuidString).err"
    FileManager.default.createFile(atPath: errorsPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorsPath) }
    let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    try? errors.close()
    guard process.terminationStatus == 0 else {
      let complaint = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
      throw TestServerError("\(command.joined(separator: " ")): \(complaint)")
    }
  }
}
