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
