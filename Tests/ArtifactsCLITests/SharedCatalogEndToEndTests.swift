// Many hosts, one archive, through the built binary: a PostgreSQL catalog (TestPostgres) and an
// S3 bucket (SeaweedFS) shared by processes that each have their own store directory and host
// name. Each file is downloaded once; a host killed with kill -9 frees its claims when they
// run out; a database restart loses nothing; a wrong password is one message; a local archive
// moves in with migrate-catalog.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@Suite(.serialized)
struct SharedCatalogEndToEndTests {
  let key = "sk-shared-catalog-test"
  let binary = TestPaths.binary("artifacts")

  /// A command started in the background, its output kept in files.
  final class Started: @unchecked Sendable {
    let process = Process()
    let output = TemporaryDirectory("out")

    init(_ binary: URL, _ arguments: [String], environment: [String: String]) throws {
      process.executableURL = binary
      process.arguments = arguments
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      _ = FileManager.default.createFile(atPath: output.file("out"), contents: nil)
      _ = FileManager.default.createFile(atPath: output.file("err"), contents: nil)
      process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output.file("out")))
      process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output.file("err")))
      process.standardInput = FileHandle.nullDevice
      try process.run()
    }

    func finish() -> ProcessResult {
      process.waitUntilExit()
      return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: output.file("out"), encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: output.file("err"), encoding: .utf8)) ?? "")
    }
  }

  /// `count` files in `containers` containers, and one log citing them all.
  func corpus(_ emulator: ContainersEmulator, count: Int, containers: Int = 4) -> TemporaryDirectory {
    let logs = TemporaryDirectory("logs")
    var lines: [String] = []
    for number in 0..<containers {
      let files = stride(from: number, to: count, by: containers).map { index in
        EmulatedFile(
          id: FakeID.file(index), path: "/mnt/data/part_\(index).csv", bytes: Array("part \(index)\n".utf8))
      }
      let container = emulator.addContainer(id: FakeID.container(900 + number), files: files)
      lines.append(
        responseLine(
          id: FakeID.response(900 + number), container: container, files: files.map { ($0.id, "part_\($0.id).csv") }))
    }
    logs.write("app.jsonl", lines.joined(separator: "\n") + "\n")
    return logs
  }

  /// Successful downloads of each file, by file id.
  func downloads(_ emulator: ContainersEmulator) -> [String: Int] {
    var counts: [String: Int] = [:]
    for request in emulator.requestLog
    where request.method == "GET" && request.path.hasSuffix("/content") && request.status == 200 {
      let parts = request.path.split(separator: "/")
      if let index = parts.firstIndex(of: "files"), index + 1 < parts.count {
        counts[String(parts[index + 1]), default: 0] += 1
      }
    }
    return counts
  }

  struct Team {
    let catalog: String
    let bucket: String
    let environment: [String: String]
    let database: String

    func arguments(_ store: TemporaryDirectory) -> [String] {
      ["--store", store.path, "--catalog", catalog, "--blobs", "s3://\(bucket)/team"]
    }

    func host(_ name: String) -> [String: String] { environment.merging(["ARTIFACTS_HOST": name]) { $1 } }
  }

  func team(_ emulator: ContainersEmulator, postgres: TestPostgres? = nil) throws -> Team {
    let server = try postgres ?? TestPostgres.shared()
    let catalog = try server.makeDatabase("team")
    let seaweed = try TestSeaweed.shared()
    let environment = seaweed.environment().merging(server.environment) { $1 }.merging(
      ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL, "NO_COLOR": "1"]) { $1 }
    return Team(
      catalog: catalog, bucket: try seaweed.makeBucket(), environment: environment,
      database: String(catalog.split(separator: "/").last!))
  }

  func archived(_ team: Team, _ store: TemporaryDirectory) throws -> [String] {
    let found = try run(binary, ["find", "--json"] + team.arguments(store), environment: team.environment)
    return found.stdoutLines.compactMap { line in
      ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["file_id"] as? String
    }.sorted()
  }

  @Test func hostsShareOneArchiveAndDownloadEachFileOnce() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.02)
    let logs = corpus(emulator, count: 60)
    let team = try team(emulator)
    let stores = (0..<3).map { _ in TemporaryDirectory("store") }
    // Three hosts read the same logs at once (a replicated log, or one shared by NFS).
    let hosts = try stores.enumerated().map { index, store in
      try Started(
        binary, ["sync", "--json", "--jobs", "4", "--cited-only"] + team.arguments(store) + [logs.path],
        environment: team.host("host-\(index)"))
    }
    let results = hosts.map { $0.finish() }
    var archivedByHosts = 0
    for result in results {
      #expect(result.status == 0, "\(result.stderr)")
      let summary = try #require(
        (try? JSONSerialization.jsonObject(with: Data((result.stdoutLines.last ?? "").utf8))) as? [String: Any])
      archivedByHosts += summary["archived"] as? Int ?? 0
    }
    // Every file once, whichever host took it.
    #expect(archivedByHosts == 60)
    let counts = downloads(emulator)
    #expect(counts.count == 60)
    #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
    // Any host finds and reads any file, whoever downloaded it.
    let expected = (0..<60).map(FakeID.file).sorted()
    for store in stores { #expect(try archived(team, store) == expected) }
    let cat = try run(binary, ["cat"] + team.arguments(stores[2]) + [FakeID.file(7)], environment: team.environment)
    #expect(cat.status == 0 && cat.stdout == "part 7\n", "\(cat.stderr)")
    let check = try run(binary, ["check"] + team.arguments(stores[0]), environment: team.environment)
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    // export reads the shared catalog and the bucket; import fills another team's catalog.
    let exported = stores[0].file("all.tar")
    let export = try run(binary, ["export"] + team.arguments(stores[1]) + [exported], environment: team.environment)
    #expect(export.status == 0, "\(export.stderr)")
    let other = try self.team(emulator)
    let otherStore = TemporaryDirectory("store")
    let imported = try run(
      binary, ["import"] + other.arguments(otherStore) + [exported], environment: other.environment)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(try archived(other, otherStore) == expected)
    // gc on one host, while nothing is unreferenced, removes nothing any host needs.
    let gc = try run(
      binary, ["gc", "--apply", "--grace", "1s", "--json"] + team.arguments(stores[2]), environment: team.environment)
    #expect(gc.status == 0, "\(gc.stderr)")
    #expect(
      try run(binary, ["check", "--read-data"] + team.arguments(stores[1]), environment: team.environment).status == 0)
    // Each host kept its own position in the log: a second sync of each reads nothing again.
    let positions = try TestPostgres.shared().psql("SELECT host FROM log_file ORDER BY host", database: team.database)
    #expect(positions == "host-0\nhost-1\nhost-2")
    let again = try run(
      binary, ["sync", "--json"] + team.arguments(stores[1]) + [logs.path], environment: team.host("host-1"))
    #expect(again.status == 0)
    #expect(downloads(emulator).values.reduce(0, +) == 60)
  }

  @Test func aKilledHostsClaimsLapseAndAnotherTakesThem() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let logs = corpus(emulator, count: 8, containers: 1)
    let team = try team(emulator)
    let postgres = try TestPostgres.shared()
    // Host A claims files whose transfers never end, then dies without a word.
    emulator.setFaultInjector { request in request.path.hasSuffix("/content") ? .stall(seconds: 120) : nil }
    let storeA = TemporaryDirectory("store")
    let hostA = try Started(
      // --jobs 2: two transfers, and the next file of each claimed while they run: four claims.
      binary, ["sync", "--jobs", "2", "--cited-only", "--lease", "3"] + team.arguments(storeA) + [logs.path],
      environment: team.host("host-a"))
    let claimed = "SELECT count(*) FROM container_file WHERE lease_owner LIKE 'host-a/%'"
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, (try? postgres.psql(claimed, database: team.database)) != "4" { usleep(100_000) }
    let rows = try postgres.psql("SELECT state, lease_owner FROM container_file", database: team.database)
    #expect(try postgres.psql(claimed, database: team.database) == "4", "\(rows)")
    kill(hostA.process.processIdentifier, SIGKILL)
    _ = hostA.finish()
    emulator.setFaultInjector(nil)
    let beforeTheKill = downloads(emulator)
    // Host B at once: the four unclaimed files; the four claimed ones stay host A's until its leases run out.
    let storeB = TemporaryDirectory("store")
    let first = try run(
      binary, ["sync", "--json", "--cited-only", "--lease", "3"] + team.arguments(storeB) + [logs.path],
      environment: team.host("host-b"))
    #expect(first.status == 0 || first.status == 3, "\(first.stderr)")
    #expect(try archived(team, storeB).count == 4)
    Thread.sleep(forTimeInterval: 3.5)
    let second = try run(
      binary, ["sync", "--json", "--cited-only"] + team.arguments(storeB) + [logs.path],
      environment: team.host("host-b"))
    #expect(second.status == 0, "\(second.stderr)")
    #expect(try archived(team, storeB) == (0..<8).map(FakeID.file).sorted())
    // After the kill, each file was downloaded once (what host A had in flight is all it cost).
    let afterTheKill = downloads(emulator).map { ($0.key, $0.value - (beforeTheKill[$0.key] ?? 0)) }
    #expect(afterTheKill.count == 8 && afterTheKill.allSatisfy { $0.1 == 1 }, "\(afterTheKill)")
    #expect(try run(binary, ["check"] + team.arguments(storeB), environment: team.environment).status == 0)
  }

  @Test func aDatabaseRestartMidRunLosesNothing() throws {
    let postgres = try TestPostgres(in: "/tmp/artifacts-postgres-e2e-\(getpid())")
    defer { try? postgres.stop() }
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.1)
    let logs = corpus(emulator, count: 40)
    let team = try team(emulator, postgres: postgres)
    let store = TemporaryDirectory("store")
    let host = try Started(
      binary, ["sync", "--json", "--jobs", "2", "--cited-only"] + team.arguments(store) + [logs.path],
      environment: team.host("host-r"))
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, downloads(emulator).count < 4 { usleep(50_000) }
    try postgres.stopServer()
    Thread.sleep(forTimeInterval: 2)
    try postgres.startServer()
    let result = host.finish()
    // Reconnected and went on (0), or stopped cleanly (1): either way the next run completes.
    #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
    if result.status == 1 { #expect(result.stderr.contains(team.catalog), "\(result.stderr)") }
    let again = try run(
      binary, ["sync", "--json", "--cited-only"] + team.arguments(store) + [logs.path], environment: team.host("host-r")
    )
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try archived(team, store) == (0..<40).map(FakeID.file).sorted())
    #expect(
      try postgres.psql("SELECT count(*) FROM container_file WHERE state <> 'archived'", database: team.database) == "0"
    )
    let check = try run(binary, ["check"] + team.arguments(store), environment: team.environment)
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
  }

  @Test func aWrongPasswordOrURLIsOneMessage() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let logs = corpus(emulator, count: 2, containers: 1)
    let team = try team(emulator)
    let store = TemporaryDirectory("store")
    var wrong = team.environment
    wrong["PGPASSWORD"] = "Wrong-Password-313"
    let refused = try run(binary, ["sync"] + team.arguments(store) + [logs.path], environment: wrong)
    #expect(refused.status == 1)
    let lines = refused.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(refused.stderr)")
    #expect(refused.stderr.contains("password authentication failed") && refused.stderr.contains(team.catalog))
    #expect(!refused.stderr.contains("Wrong-Password-313") && !refused.stdout.contains("Wrong-Password-313"))
    #expect(downloads(emulator).isEmpty)
    // A password in the URL is never shown either.
    let inURL = team.catalog.replacingOccurrences(of: "://artifacts@", with: "://artifacts:Secret-In-URL-77@")
    let shown = try run(binary, ["find", "--store", store.path, "--catalog", inURL], environment: [:])
    #expect(shown.status == 1 && !shown.stderr.contains("Secret-In-URL-77"), "\(shown.stderr)")
    let notAURL = try run(
      binary, ["find", "--store", store.path, "--catalog", "/tmp/catalog.sqlite"], environment: [:])
    #expect(notAURL.status == 1 && notAURL.stderr.contains("postgresql://"), "\(notAURL.stderr)")
  }

  @Test func migrateCatalogMovesALocalArchiveIn() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let logs = corpus(emulator, count: 12, containers: 3)
    let team = try team(emulator)
    let store = TemporaryDirectory("store")
    let synced = try run(binary, ["sync", "--store", store.path, logs.path], environment: team.environment)
    #expect(synced.status == 0, "\(synced.stderr)")
    let local = try run(binary, ["find", "--json", "--store", store.path], environment: [:])
    let migrated = try run(
      binary, ["migrate-catalog", "--json", "--store", store.path, "--to", team.catalog], environment: team.environment)
    #expect(migrated.status == 0, "\(migrated.stderr)")
    let report = try #require(
      (try? JSONSerialization.jsonObject(with: Data((migrated.stdoutLines.last ?? "").utf8))) as? [String: Any])
    #expect(report["files"] as? Int == 12)
    // The same answers from the shared catalog (the bytes are still in the store directory).
    let shared = try run(
      binary, ["find", "--json", "--store", store.path, "--catalog", team.catalog], environment: team.environment)
    #expect(shared.status == 0, "\(shared.stderr)")
    #expect(shared.stdout == local.stdout)
    // The log's position came along: nothing is read or downloaded again.
    let again = try run(
      binary, ["sync", "--json", "--store", store.path, "--catalog", team.catalog, logs.path],
      environment: team.environment)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(downloads(emulator).values.reduce(0, +) == 12)
    // A second migration into the now full catalog is refused.
    let twice = try run(
      binary, ["migrate-catalog", "--store", store.path, "--to", team.catalog], environment: team.environment)
    #expect(twice.status == 1 && twice.stderr.contains("already holds 12 files"), "\(twice.stderr)")
  }
}
