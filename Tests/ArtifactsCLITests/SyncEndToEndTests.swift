// The built `artifacts` binary against the in-process emulator: real processes, real libcurl
// transfers on loopback, a real SQLite file.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct SyncEndToEndTests {
  let key = "sk-e2e-secret-4f9a2c"
  let binary = TestPaths.binary("artifacts")

  /// Three containers: two share one content, the third expired before the sync.
  struct World {
    let emulator: ContainersEmulator
    let logs: TemporaryDirectory
    let contents: [String: [UInt8]]
    let expiredFile = FakeID.file(5)
  }

  func makeWorld() throws -> World {
    let emulator = try ContainersEmulator.started(apiKey: key)
    let shared = Array("x,y\n1,1\n2,4\n".utf8)
    let chart =
      [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let report = Array(String(repeating: "report line\n", count: 1000).utf8)
    let a = emulator.addContainer(
      id: FakeID.container(1),
      files: [
        EmulatedFile(id: FakeID.file(1), path: "/mnt/data/squares.csv", bytes: shared),
        EmulatedFile(id: FakeID.file(2), path: "/mnt/data/chart.png", bytes: chart),
      ])
    let b = emulator.addContainer(
      id: FakeID.container(2),
      files: [
        EmulatedFile(id: FakeID.file(3), path: "/mnt/data/squares_copy.csv", bytes: shared),
        EmulatedFile(id: FakeID.file(4), path: "/mnt/data/report.txt", bytes: report),
      ])
    let c = emulator.addContainer(
      id: FakeID.container(3),
      files: [
        EmulatedFile(id: FakeID.file(5), path: "/mnt/data/gone.csv", bytes: [1, 2, 3])
      ])
    emulator.expire(containerID: c)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "app/2026-11-25.jsonl",
      [
        responseLine(
          id: FakeID.response(1), container: a,
          files: [(FakeID.file(1), "squares.csv"), (FakeID.file(2), "chart.png")], createdAt: 1_764_000_000),
        responseLine(
          id: FakeID.response(2), container: b, files: [(FakeID.file(3), "squares_copy.csv")], createdAt: 1_764_000_100),
      ].joined(separator: "\n") + "\n")
    logs.write(
      "app/old/turn.json",
      responseLine(
        id: FakeID.response(3), container: b, files: [(FakeID.file(4), "report.txt")], model: "gpt-4o-mini",
        createdAt: 1_764_000_200))
    logs.write(
      "app/old/later.json",
      responseLine(
        id: FakeID.response(4), container: b, files: [(FakeID.file(4), "report.txt")], createdAt: 1_764_000_300))
    logs.write(
      "app/expired.jsonl",
      responseLine(id: FakeID.response(5), container: c, files: [(FakeID.file(5), "gone.csv")]) + "\n")
    return World(
      emulator: emulator, logs: logs,
      contents: [FakeID.file(1): shared, FakeID.file(2): chart, FakeID.file(3): shared, FakeID.file(4): report])
  }

  func environment(_ emulator: ContainersEmulator, key: String? = nil) -> [String: String] {
    ["OPENAI_API_KEY": key ?? self.key, "OPENAI_BASE_URL": emulator.baseURL, "NO_COLOR": "1"]
  }

  func contentRequests(_ emulator: ContainersEmulator) -> Int {
    emulator.requestLog.filter { $0.path.hasSuffix("/content") }.count
  }

  @Test func syncArchivesDeduplicatesReportsLossAndFindsEverything() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    let env = environment(world.emulator)

    let first = try run(binary, ["sync", "--store", store.path, world.logs.path], environment: env)
    #expect(first.status == 3, "stdout: \(first.stdout)\nstderr: \(first.stderr)")
    #expect(first.stdout.contains("archived          4"))
    #expect(first.stdout.contains("deduplicated      1"))
    #expect(first.stdout.contains("lost              1"))
    #expect(first.stdout.contains("gone.csv"))
    #expect(first.stdout.contains("Container is expired"))

    // Three distinct contents, each stored once under its own SHA-256.
    let blobs = try FileManager.default.subpathsOfDirectory(atPath: store.file("blobs/sha256"))
      .filter { $0.contains("/") }
    #expect(blobs.count == 3)
    for blob in blobs {
      let bytes = try Data(contentsOf: URL(fileURLWithPath: store.file("blobs/sha256/\(blob)")))
      let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
      #expect(blob.hasSuffix(hex))
    }

    // find --json: the documented fields, an absolute path to correct bytes, every citation.
    let found = try run(binary, ["find", "--store", store.path, "--json"], environment: env)
    #expect(found.status == 0)
    let records = try found.stdoutLines.map {
      try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(records.count == 4)
    for record in records {
      for field in [
        "filename", "sha256", "size", "media_type", "container_id", "file_id", "state", "path", "response_id",
        "citations",
      ] {
        #expect(record[field] != nil, "missing \(field)")
      }
      let fileID = try #require(record["file_id"] as? String)
      let path = try #require(record["path"] as? String)
      #expect(path.hasPrefix("/"))
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(try #require(world.contents[fileID])))
      #expect(record["state"] as? String == "archived")
      #expect(record["size"] as? Int == world.contents[fileID]?.count)
    }
    let report = try #require(records.first { $0["filename"] as? String == "report.txt" })
    let citations = try #require(report["citations"] as? [[String: Any]])
    #expect(citations.map { $0["response_id"] as? String } == [FakeID.response(3), FakeID.response(4)])
    #expect(citations.first?["model"] as? String == "gpt-4o-mini")
    #expect(citations.first?["log"] as? String == world.logs.file("app/old/turn.json"))
    #expect(citations.first?["line"] as? Int == 1)
    #expect(report["response_id"] as? String == FakeID.response(4))  // the latest
    #expect(records.first { $0["filename"] as? String == "chart.png" }?["media_type"] as? String == "image/png")

    // A second run downloads nothing and says so.
    let before = contentRequests(world.emulator)
    let second = try run(binary, ["sync", "--store", store.path, world.logs.path], environment: env)
    #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
    #expect(second.stdout.contains("Nothing new to download."))
    #expect(second.stdout.contains("Scanned 0 logs (4 unchanged since the last sync)"))
    #expect(contentRequests(world.emulator) == before)

    // Substring search, piped output is one path per line, and no match exits 1.
    let png = try run(binary, ["find", "--store", store.path, "chart"], environment: env)
    #expect(png.stdoutLines.count == 1 && png.stdoutLines[0].hasPrefix(store.path))
    let none = try run(binary, ["find", "--store", store.path, "no-such-name"], environment: env)
    #expect(none.status == 1 && none.stdout.isEmpty)
    // -0: the same paths, each followed by NUL (for xargs -0).
    let all = try run(binary, ["find", "--store", store.path], environment: env)
    let nul = try run(binary, ["find", "--store", store.path, "-0"], environment: env)
    #expect(all.stdoutLines.count > 1 && all.stdoutLines.allSatisfy { $0.hasPrefix(store.path) })
    #expect(nul.status == 0 && nul.stdout == all.stdoutLines.map { $0 + "\0" }.joined())

    // The key appears in no output and nowhere in the store.
    for text in [first.stdout, first.stderr, second.stdout, found.stdout] { #expect(!text.contains(key)) }
    let catalogBytes = try Data(contentsOf: URL(fileURLWithPath: store.file("catalog.sqlite")))
    #expect(catalogBytes.range(of: Data(key.utf8)) == nil)
  }

  @Test func catalogOpensInTheSqlite3Tool() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    _ = try run(binary, ["sync", "--store", store.path, world.logs.path], environment: environment(world.emulator))
    let sqlite = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"),
      [
        store.file("catalog.sqlite"),
        "SELECT state, count(*) FROM container_file GROUP BY state ORDER BY state; SELECT count(*) FROM archived_file; SELECT count(*) FROM citation_detail; SELECT filename FROM container_file_name WHERE container_file_name MATCH 'quare' ORDER BY 1; PRAGMA journal_mode;",
      ])
    #expect(sqlite.status == 0, "\(sqlite.stderr)")
    #expect(sqlite.stdout == "archived|4\nlost|1\n4\n6\nsquares.csv\nsquares_copy.csv\nwal\n")
  }

  @Test func wrongKeyStopsWithAClearErrorAndNoRetries() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    let wrong = "sk-wrong-0000-1111"
    let result = try run(
      binary, ["sync", "--store", store.path, "--jobs", "2", world.logs.path],
      environment: environment(world.emulator, key: wrong))
    #expect(result.status == 1)
    #expect(result.stderr.contains("error: the API rejected the credentials (HTTP 401"))
    #expect(result.stderr.split(separator: "\n").filter { $0.contains("401") }.count == 1)
    #expect(!result.stderr.contains(wrong) && !result.stdout.contains(wrong))
    #expect(world.emulator.requestLog.count <= 2)
  }

  @Test func missingKeyIsAConfigurationError() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    var env = environment(world.emulator)
    env["OPENAI_API_KEY"] = ""
    let result = try run(binary, ["sync", "--store", store.path, world.logs.path], environment: env)
    #expect(result.status == 1)
    #expect(result.stderr.contains("OPENAI_API_KEY is not set"))
    #expect(world.emulator.requestLog.isEmpty)
  }

  @Test func jsonEventsEndWithTheSummary() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--json", "--store", store.path, world.logs.path], environment: environment(world.emulator))
    #expect(result.status == 3)
    let events = try result.stdoutLines.map {
      try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(events.filter { $0["event"] as? String == "scan" }.count == 4)
    #expect(events.filter { $0["event"] as? String == "download" }.count == 4)
    #expect(events.filter { $0["event"] as? String == "lost" }.count == 1)
    let summary = try #require(events.last)
    #expect(summary["event"] as? String == "summary")
    #expect(summary["archived"] as? Int == 4)
    #expect(summary["deduplicated"] as? Int == 1)
    #expect(summary["lost"] as? Int == 1)
    #expect((summary["unarchived"] as? [[String: Any]])?.first?["file_id"] as? String == world.expiredFile)
  }

  @Test func dryRunNeedsNoKeyAndDownloadsNothing() throws {
    let world = try makeWorld()
    defer { world.emulator.stop() }
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--dry-run", "--store", store.path, world.logs.path],
      environment: ["NO_COLOR": "1", "OPENAI_API_KEY": ""])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("pending           5"))
    #expect(world.emulator.requestLog.isEmpty)
  }

  @Test func usageErrorsExit64() throws {
    let result = try run(binary, ["sync"], environment: [:])
    #expect(result.status == 64)
    #expect(result.stderr.contains("name at least one log file or directory"))
    let missing = try run(binary, ["sync", "--store", TemporaryDirectory().path, "/no/such/logs"], environment: [:])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("/no/such/logs"))
  }

  /// Warnings about a whole file name it, in text and in JSON; a run in which no input could be
  /// read does not pass for a clean one.
  @Test func fileLevelWarningsNameTheFileAndARunThatReadNothingSaysSo() throws {
    let logs = TemporaryDirectory("logs")
    let notes = logs.write("notes.txt", "just some notes\n")
    let empty = logs.write("empty.jsonl", "")
    let store = TemporaryDirectory("store")
    let text = try run(binary, ["sync", "--verbose", "--store", store.path, notes], environment: [:])
    #expect(text.status == 1, "\(text.stderr)")
    #expect(text.stderr.contains("\(notes): not a JSON, JSON Lines or event-stream log; skipped"), "\(text.stderr)")
    #expect(text.stderr.contains("\(notes) could not be read as a log"), "\(text.stderr)")

    let garbage = logs.write("image.bin", "\u{1}\u{2}binary")
    let json = try run(binary, ["sync", "--json", "--store", store.path, notes, garbage], environment: [:])
    #expect(json.status == 1)
    func events(_ result: ProcessResult) -> [[String: Any]] {
      result.stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    let warnings = events(json).filter { $0["event"] as? String == "warning" }
    #expect(Set(warnings.compactMap { $0["log"] as? String }) == [notes, garbage], "\(warnings)")
    #expect(warnings.allSatisfy { $0["line"] == nil })
    #expect(events(json).last?["event"] as? String == "error")

    // An empty log beside a good one is no failure: it was read, and held nothing; its warning
    // still names it.
    let good = logs.write("good.jsonl", "{}\n")
    let mixed = try run(binary, ["sync", "--json", "--store", store.path, empty, good], environment: [:])
    #expect(mixed.status == 0, "\(mixed.stderr)")
    let emptyWarning = events(mixed).first { $0["event"] as? String == "warning" }
    #expect(emptyWarning?["log"] as? String == empty)
    #expect((emptyWarning?["message"] as? String)?.contains("empty") == true)
  }

  @Test func storeDefaultsToArtifactsHome() throws {
    let home = TemporaryDirectory("home")
    let log = home.write("logs/empty.jsonl", "")
    let synced = try run(binary, ["sync", log], environment: ["ARTIFACTS_HOME": home.file("store")])
    #expect(synced.status == 0, "\(synced.stderr)")
    #expect(FileManager.default.fileExists(atPath: home.file("store/catalog.sqlite")))
    let result = try run(binary, ["find"], environment: ["ARTIFACTS_HOME": home.file("store")])
    #expect(result.status == 1)  // nothing archived yet
    #expect(result.stderr.isEmpty)
  }

  /// Only sync and import make a store; every other command on a path that holds none says so
  /// and creates nothing there.
  @Test(arguments: [
    ["find"], ["find", "--json", "x"], ["show", "cfile_1"], ["cat", "cfile_1"], ["check"], ["check", "--read-data"],
    ["gc"], ["gc", "--apply"], ["export", "out.tar"],
  ])
  func readingCommandsOnAStoreThatDoesNotExistSaySoAndCreateNothing(_ arguments: [String]) throws {
    let directory = TemporaryDirectory()
    let typo = directory.file("a/typo")
    let result = try run(binary, arguments + ["--store", typo], environment: [:], in: directory.path)
    #expect(result.status == 1, "\(arguments): \(result.stderr)")
    #expect(result.stderr.contains("no store at \(typo)"), "\(arguments): \(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: directory.file("a")), "\(arguments) created a store")
    #expect(!FileManager.default.fileExists(atPath: directory.file("out.tar")))
  }
}
