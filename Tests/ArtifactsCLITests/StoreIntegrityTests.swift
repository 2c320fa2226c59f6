// check, gc, schema upgrades, crashes and concurrent runs: the store tells the truth and
// loses nothing.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct StoreIntegrityTests {
  let key = "sk-integrity-test"
  let binary = TestPaths.binary("artifacts")

  /// A store holding 12 archived files (3 share their bytes).
  func syncedStore(_ emulator: ContainersEmulator) throws -> (TemporaryDirectory, TemporaryDirectory) {
    let files = (0..<12).map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0).csv", bytes: Array("row \($0 % 9)\n".utf8))
    }
    let container = emulator.addContainer(id: FakeID.container(60), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(60), container: container, files: files.map { ($0.id, "f\($0.id).csv") }) + "\n")
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--store", store.path, logs.path],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    #expect(result.status == 0, "\(result.stderr)")
    return (store, logs)
  }

  func blobs(_ store: TemporaryDirectory) throws -> [String] {
    try FileManager.default.subpathsOfDirectory(atPath: store.file("blobs/sha256")).filter { $0.contains("/") }.sorted()
      .map { store.file("blobs/sha256/\($0)") }
  }

  @Test func checkFindsMissingCorruptAndUnreferencedBlobsAndGcCleansUp() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (store, _) = try syncedStore(emulator)
    let clean = try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:])
    #expect(clean.status == 0, "\(clean.stdout)")
    #expect(clean.stdout.contains("Re-hashed: 9 files") && clean.stdout.contains("No damage found."))

    let stored = try blobs(store)
    #expect(stored.count == 9)
    // One blob deleted, one with a bit flipped, one stray file from nowhere.
    try FileManager.default.removeItem(atPath: stored[0])
    chmod(stored[1], 0o644)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: stored[1]))
    bytes[0] ^= 0x01
    try bytes.write(to: URL(fileURLWithPath: stored[1]))
    let unreferenced = store.file("blobs/sha256/ff/" + String(repeating: "f", count: 64))
    try FileManager.default.createDirectory(atPath: store.file("blobs/sha256/ff"), withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: unreferenced, contents: Data("orphan".utf8))

    let quick = try run(binary, ["check", "--store", store.path], environment: [:])
    #expect(quick.status == 3)
    #expect(quick.stdout.contains("missing"))
    #expect(quick.stdout.contains("cited by \(FakeID.response(60))"))
    #expect(quick.stdout.contains("1 not named by the catalog"))
    #expect(!quick.stdout.contains("corrupt"), "without --read-data nothing is re-hashed")

    let deep = try run(binary, ["check", "--store", store.path, "--read-data", "--json"], environment: [:])
    #expect(deep.status == 3)
    let events = try deep.stdoutLines.map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    let damage = events.filter { $0["event"] as? String == "damage" }.compactMap { $0["damage"] as? [String: Any] }
    #expect(Set(damage.compactMap { $0["problem"] as? String }) == ["missing", "corrupt"])
    #expect(events.contains { $0["event"] as? String == "unreferenced" && $0["path"] as? String == unreferenced })
    #expect(events.last?["event"] as? String == "summary")

    // gc: dry run by default, the grace period protects young files, nothing named is touched.
    let young = try run(binary, ["gc", "--store", store.path], environment: [:])
    #expect(young.stdout.contains("Nothing to remove."))
    let dry = try run(binary, ["gc", "--store", store.path, "--grace", "0s"], environment: [:])
    #expect(dry.stdout.contains("would remove unreferenced blob: \(unreferenced)"))
    #expect(FileManager.default.fileExists(atPath: unreferenced))
    let applied = try run(binary, ["gc", "--store", store.path, "--grace", "0s", "--apply"], environment: [:])
    #expect(applied.status == 0)
    #expect(!FileManager.default.fileExists(atPath: unreferenced))
    #expect(try blobs(store).count == 8, "only the orphan went")
  }

  @Test func aBudgetedCheckResumesWhereTheLastOneStopped() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (store, _) = try syncedStore(emulator)
    let first = try run(binary, ["check", "--store", store.path, "--budget", "50%", "--json"], environment: [:])
    let second = try run(binary, ["check", "--store", store.path, "--budget", "50%", "--json"], environment: [:])
    func verified(_ result: ProcessResult) throws -> Int {
      let last = try #require(result.stdoutLines.last)
      let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
      return try #require((summary["report"] as? [String: Any])?["blobs_verified"] as? Int)
    }
    #expect(try verified(first) == 5)
    #expect(try verified(second) == 5)
    let stamps = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"),
      [store.file("catalog.sqlite"), "SELECT count(*) FROM blob WHERE last_verified_at IS NULL"],
      environment: [:])
    #expect(stamps.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the two halves covered every blob")
  }

  @Test func gcForgetsSelectedFilesAndKeepsSharedBytes() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (store, _) = try syncedStore(emulator)
    let forgotten = try run(
      binary, ["gc", "--store", store.path, "--response", FakeID.response(60), "--apply"], environment: [:])
    #expect(forgotten.status == 0, "\(forgotten.stderr)")
    #expect(forgotten.stdout.contains("removed archived file"))
    #expect(try run(binary, ["find", "--store", store.path], environment: [:]).status == 1)
    #expect(try blobs(store).isEmpty)
    #expect(try run(binary, ["check", "--store", store.path], environment: [:]).status == 0)
  }

  @Test func anOlderCatalogIsUpgradedAndANewerOneRefused() throws {
    let directory = TemporaryDirectory()
    // A catalog made by the first schema alone, as the first release wrote it.
    let v001 = try String(
      contentsOf: TestPaths.packageRoot.appendingPathComponent("Schema/v001_initial.sql"), encoding: .utf8)
    try FileManager.default.createDirectory(atPath: directory.file("old"), withIntermediateDirectories: true)
    let made = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"), [directory.file("old/catalog.sqlite")],
      stdin: v001 + """
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
        INSERT INTO grdb_migrations VALUES ('v001_initial');
        INSERT INTO container (id, first_seen_at) VALUES ('cntr_old', '2026-01-01T00:00:00.000Z');
        INSERT INTO container_file (container_id, file_id, filename, first_seen_at)
          VALUES ('cntr_old', 'cfile_old', 'Old_Forecast.csv', '2026-01-01T00:00:00.000Z');
        """)
    #expect(made.status == 0, "\(made.stderr)")
    let upgraded = try run(
      binary, ["find", "--store", directory.file("old"), "--state", "pending", "forecast"], environment: [:])
    #expect(upgraded.status == 0, "opens, and finds the old file: \(upgraded.stderr)")
    #expect(upgraded.stdoutLines == ["cntr_old/cfile_old"])
    // v004 counted the trigrams of the names already there.
    let counted = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"),
      [
        directory.file("old/catalog.sqlite"), "SELECT trigram, files FROM name_trigram WHERE trigram IN ('old', 'for')",
      ],
      environment: [:])
    #expect(counted.stdoutLines.sorted() == ["for|1", "old|1"])
    let migrations = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"),
      [directory.file("old/catalog.sqlite"), "SELECT identifier FROM grdb_migrations ORDER BY 1"],
      environment: [:])
    #expect(
      migrations.stdoutLines == [
        "v001_initial", "v002_incremental_scan", "v003_verification", "v004_name_trigrams", "v005_leases",
        "v006_produced_at", "v007_fewer_writes_per_file", "v008_produced_at_as_recorded",
        "v009_blobs_by_size",
      ])

    // A catalog from a future version: refused, untouched, with a clear message.
    _ = try run(
      URL(fileURLWithPath: "/usr/bin/sqlite3"),
      [directory.file("old/catalog.sqlite"), "INSERT INTO grdb_migrations VALUES ('v999_future')"],
      environment: [:])
    let refused = try run(binary, ["find", "--store", directory.file("old")], environment: [:])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("newer version of artifacts"))
  }
}

struct RepairTests {
  let key = "sk-repair-test"
  let binary = TestPaths.binary("artifacts")

  @Test func repairDownloadsDamagedFilesAgainOrMarksThemLost() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (0..<4).map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0).csv", bytes: Array("row \($0)\n".utf8))
    }
    let container = emulator.addContainer(id: FakeID.container(61), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(61), container: container, files: files.map { ($0.id, "\($0.id).csv") }) + "\n")
    let store = TemporaryDirectory("store")
    let environment = ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL]
    #expect(try run(binary, ["sync", "--store", store.path, logs.path], environment: environment).status == 0)
    let blobs = try FileManager.default.subpathsOfDirectory(atPath: store.file("blobs/sha256")).filter {
      $0.contains("/")
    }.sorted()
      .map { store.file("blobs/sha256/\($0)") }
    try FileManager.default.removeItem(atPath: blobs[0])
    chmod(blobs[1], 0o644)
    try Data("garbage".utf8).write(to: URL(fileURLWithPath: blobs[1]))

    let repaired = try run(
      binary, ["check", "--store", store.path, "--read-data", "--repair"], environment: environment)
    #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
    #expect(repaired.stdout.contains("Repaired 2 files"))
    #expect(try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:]).status == 0)
    #expect(FileManager.default.fileExists(atPath: store.file("damaged")), "the bad bytes were kept aside")

    // Damaged again, but the container is gone now: lost, with the damage named.
    chmod(blobs[2], 0o644)
    try Data("garbage".utf8).write(to: URL(fileURLWithPath: blobs[2]))
    emulator.expire(containerID: container)
    let late = try run(binary, ["check", "--store", store.path, "--read-data", "--repair"], environment: environment)
    #expect(late.status == 3)
    #expect(late.stdout.contains("1 lost"))
    let lost = try run(binary, ["find", "--store", store.path, "--state", "lost", "--json"], environment: [:])
    #expect(lost.stdoutLines.count == 1)
    #expect(lost.stdout.contains("stored bytes damaged (size mismatch); then container"))
    #expect(try run(binary, ["check", "--store", store.path, "--read-data"], environment: [:]).status == 0)
  }
}
