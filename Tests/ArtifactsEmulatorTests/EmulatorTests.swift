// The emulator must answer exactly as the recorded API traffic does, or every test built on it
// tests the wrong thing. These requests go through curl(1), a client that is not ours.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

struct EmulatorTests {
  let key = "sk-emulator-test"

  func curl(_ emulator: ContainersEmulator, _ path: String, key: String? = nil) throws -> (head: String, body: String) {
    let directory = TemporaryDirectory()
    let result = try run(
      URL(fileURLWithPath: "/usr/bin/curl"),
      [
        "-sS", "-D", directory.file("head"), "-o", directory.file("body"), "-H",
        "Authorization: Bearer \(key ?? self.key)",
        emulator.baseURL + path,
      ])
    #expect(result.status == 0, "\(result.stderr)")
    return (
      (try? String(contentsOfFile: directory.file("head"), encoding: .utf8)) ?? "",
      (try? String(contentsOfFile: directory.file("body"), encoding: .utf8)) ?? ""
    )
  }

  func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  @Test func contentHasNoContentTypeAndNamesTheFileInFilenameStar() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(1), path: "/mnt/data/numbers_and_squares.csv", bytes: Array("x,y\r\n".utf8))
    ])
    let (head, body) = try curl(emulator, "/containers/\(container)/files/\(FakeID.file(1))/content")
    #expect(head.hasPrefix("HTTP/1.1 200"))
    #expect(!head.lowercased().contains("content-type"))
    #expect(
      head.contains(#"content-disposition: attachment; filename="file.csv"; filename*=UTF-8''numbers_and_squares.csv"#))
    #expect(head.contains("x-request-id: req_"))
    #expect(body == "x,y\r\n")
  }

  @Test func metadataReportsNullBytesForAssistantFiles() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a.png", source: "assistant", bytes: [1, 2]),
      EmulatedFile(id: FakeID.file(2), path: "/mnt/data/in.json", source: "user", bytes: [1, 2, 3]),
    ])
    let assistant = try json(curl(emulator, "/containers/\(container)/files/\(FakeID.file(1))").body)
    #expect(assistant["bytes"] is NSNull)
    #expect(assistant["object"] as? String == "container.file")
    #expect(assistant["source"] as? String == "assistant")
    let user = try json(curl(emulator, "/containers/\(container)/files/\(FakeID.file(2))").body)
    #expect(user["bytes"] as? Int == 3)
    let info = try json(curl(emulator, "/containers/\(container)").body)
    #expect(info["status"] as? String == "running")
    #expect((info["expires_after"] as? [String: Any])?["minutes"] as? Int == 20)
  }

  @Test func listingPaginatesWithAfterCursor() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let files = (1...5).map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0)", bytes: [], createdAt: Int64($0))
    }
    let container = emulator.addContainer(files: files)
    var seen: [String] = []
    var after = ""
    while true {
      let page = try json(curl(emulator, "/containers/\(container)/files?limit=2&order=asc\(after)").body)
      let data = try #require(page["data"] as? [[String: Any]])
      seen += data.compactMap { $0["id"] as? String }
      guard page["has_more"] as? Bool == true, let last = page["last_id"] as? String else { break }
      after = "&after=\(last)"
    }
    #expect(seen == files.map(\.id))
  }

  @Test func wrongKeyGets401WithOpenAIErrorBody() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (head, body) = try curl(emulator, "/containers/cntr_x", key: "sk-nope")
    #expect(head.hasPrefix("HTTP/1.1 401"))
    let error = try #require(try json(body)["error"] as? [String: Any])
    #expect(error["code"] as? String == "invalid_api_key")
  }

  @Test func idleContainerExpiresAndEveryCallRefreshesIt() throws {
    let clock = FakeClock()
    let emulator = ContainersEmulator(apiKey: key, ttl: 60, clock: { clock.now })
    try emulator.start()
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [EmulatedFile(id: FakeID.file(1), path: "/mnt/data/a", bytes: [1])])
    clock.advance(50)
    #expect(try curl(emulator, "/containers/\(container)").head.hasPrefix("HTTP/1.1 200"))  // refreshes
    clock.advance(50)
    #expect(
      try curl(emulator, "/containers/\(container)/files/\(FakeID.file(1))/content").head.hasPrefix("HTTP/1.1 200"))
    clock.advance(61)
    let (head, body) = try curl(emulator, "/containers/\(container)/files")
    #expect(head.hasPrefix("HTTP/1.1 400"))
    #expect(body.contains("Container is expired."))
  }

  @Test func missingFileNamesFileAndContainer() throws {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = emulator.addContainer(files: [])
    let (head, body) = try curl(emulator, "/containers/\(container)/files/cfile_nope/content")
    #expect(head.hasPrefix("HTTP/1.1 404"))
    #expect(body.contains("File cfile_nope not found on container \(container)"))
  }
}

final class FakeClock: @unchecked Sendable {
  private let lock = NSLock()
  private var current = Date(timeIntervalSince1970: 1_800_000_000)
  var now: Date { lock.withLock { current } }
  func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
