// Re-running `sync` as a log grows, is rewritten, or carries its own images.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

struct IncrementalSyncTests {
  let key = "sk-incremental-test"
  let binary = TestPaths.binary("artifacts")

  func sync(_ store: TemporaryDirectory, _ logs: String, _ emulator: ContainersEmulator) throws -> [String: Any] {
    let result = try run(
      // --cited-only: this test is about reading logs, not about listing containers.
      binary, ["sync", "--json", "--cited-only", "--store", store.path, logs],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    let last = try #require(result.stdoutLines.last)
    return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
  }

  func citationRows(_ store: TemporaryDirectory) throws -> String {
    try run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [store.file("catalog.sqlite"), "SELECT count(*) FROM citation"])
      .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func growingLogIsReadOnceAndRewrittenLogAddsNoDuplicates() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = FakeID.container(7)
    emulator.addContainer(
      id: container,
      files: (1...4).map { EmulatedFile(id: FakeID.file($0), path: "/mnt/data/f\($0).csv", bytes: [UInt8($0)]) })
    let line = { (n: Int) in
      responseLine(id: FakeID.response(n), container: container, files: [(FakeID.file(n), "f\(n).csv")])
    }
    let logs = TemporaryDirectory("logs")
    let store = TemporaryDirectory("store")
    let path = logs.write("app.jsonl", line(1) + "\n" + line(2) + "\n")

    var summary = try sync(store, logs.path, emulator)
    #expect(summary["archived"] as? Int == 2)
    #expect(summary["records"] as? Int == 2)

    // Appended: only the new line is read (records counts lines read by this run).
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((line(3) + "\n").utf8))
    try handle.close()
    summary = try sync(store, logs.path, emulator)
    #expect(summary["records"] as? Int == 1)
    #expect(summary["archived"] as? Int == 1)
    #expect(summary["citations_found"] as? Int == 1)

    // Unchanged: nothing read, nothing requested.
    let requests = emulator.requestLog.count
    summary = try sync(store, logs.path, emulator)
    #expect(summary["logs_unchanged"] as? Int == 1)
    #expect(summary["records"] as? Int == 0)
    #expect(emulator.requestLog.count == requests)

    // Rewritten in place (as a rotation would leave it): read in full, citations not doubled.
    logs.write("app.jsonl", line(4) + "\n" + line(1) + "\n" + line(2) + "\n" + line(3) + "\n")
    summary = try sync(store, logs.path, emulator)
    #expect(summary["records"] as? Int == 4)
    #expect(summary["new_citations"] as? Int == 1)
    #expect(summary["archived"] as? Int == 1)
    #expect(try citationRows(store) == "4")

    // Deleted: its history stays.
    try FileManager.default.removeItem(atPath: path)
    let found = try run(binary, ["find", "--store", store.path, "--json"], environment: [:])
    #expect(found.stdoutLines.count == 4)
  }

  @Test func imagesInsideTheLogAreArchivedWithoutDownloading() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let logs = TemporaryDirectory("logs")
    let store = TemporaryDirectory("store")
    try FileManager.default.copyItem(
      atPath: TestPaths.realFixture("pydantic-ai-ci-chart-turn1.json"), toPath: logs.file("turn1.json"))
    let result = try run(
      binary, ["sync", "--dry-run", "--json", "--store", store.path, logs.path], environment: [:])
    #expect(result.status == 0, "\(result.stderr)")
    let found = try run(binary, ["find", "--store", store.path, "--json", "output0"], environment: [:])
    let firstLine = try #require(found.stdoutLines.first)
    let record = try #require(try JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any])
    #expect(record["source"] as? String == "log")
    #expect(record["media_type"] as? String == "image/png")
    #expect(record["container_id"] as? String == "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548")
    #expect((record["file_id"] as? String)?.hasSuffix("#output0") == true)
    let citation = try #require((record["citations"] as? [[String: Any]])?.first)
    #expect(citation["response_id"] as? String == "resp_68cdc382bc98819083a5b47ec92e077b0187028ba77f15f7")
    #expect(citation["log"] as? String == logs.file("turn1.json"))
    let bytes = try Data(contentsOf: URL(fileURLWithPath: try #require(record["path"] as? String)))
    #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    #expect(emulator.requestLog.isEmpty)
  }
}
