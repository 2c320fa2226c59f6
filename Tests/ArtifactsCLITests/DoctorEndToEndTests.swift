// `artifacts doctor` as a script sees it: one line per check, the exit status, no key printed.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

struct DoctorEndToEndTests {
  let binary = TestPaths.binary("artifacts")
  let key = "sk-doctor-test-0123456789"

  @Test func exitStatusSaysWhetherAnythingIsWrong() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let store = TemporaryDirectory("store")
    let good = try run(
      binary, ["doctor", "--store", store.path, "--color", "never"],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL, "AZURE_OPENAI_ENDPOINT": ""])
    #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
    #expect(good.stdout.contains("ok       api"))
    #expect(good.stdout.contains("warning  store"))  // no store yet
    let bad = try run(
      binary, ["doctor", "--store", store.path, "--json"],
      environment: ["OPENAI_API_KEY": "sk-wrong-key-987654321", "OPENAI_BASE_URL": emulator.baseURL])
    #expect(bad.status == 1)
    let records = bad.stdoutLines.compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
    #expect(records.contains { $0["check"] as? String == "api" && $0["status"] as? String == "problem" })
    #expect(!bad.stdout.contains("sk-wrong-key-987654321") && !bad.stderr.contains("sk-wrong-key-987654321"))
    #expect(!FileManager.default.fileExists(atPath: store.file("catalog.sqlite")))  // doctor writes nothing
  }
}

struct ResponseIDsEndToEndTests {
  let binary = TestPaths.binary("artifacts")
  let key = "sk-ids-test-0123456789"

  @Test func idsReadFromStdin() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(7), path: "/mnt/data/seven.csv", bytes: Array("7\n".utf8))
    ])
    let id = FakeID.response(7)
    emulator.storeResponse(
      id: id, json: responseLine(id: id, container: container, files: [(FakeID.file(7), "seven.csv")]))
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--store", store.path, "--response-ids", "-", "--json"],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL], stdin: "\(id)\nresp_unknown\n")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let events = result.stdoutLines.compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
    #expect(events.contains { $0["event"] as? String == "download" && $0["file_id"] as? String == FakeID.file(7) })
    #expect(
      events.contains { $0["event"] as? String == "warning" && $0["log"] as? String == "-" && $0["line"] as? Int == 2 })
    let shown = try run(binary, ["show", "--store", store.path, FakeID.file(7)], environment: [:])
    #expect(shown.stdout.contains(emulator.baseURL + "/responses/" + id))
  }
}
