// Responses fetched by id and conversations fetched by their items, from the emulator's
// stored responses: kept in the store, read as logs whose location is the API, one unknown
// id a warning about its line.
import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

struct StoredResponsesTests {
  /// A container with one file, and a stored response citing it; returns the response id.
  func storedResponse(_ world: KitWorld, _ number: Int) -> String {
    let container = world.emulator.addContainer(files: [
      EmulatedFile(id: FakeID.file(number), path: "/mnt/data/r\(number).csv", bytes: Array("r\(number)\n".utf8))
    ])
    let id = FakeID.response(number)
    world.emulator.storeResponse(
      id: id, json: responseLine(id: id, container: container, files: [(FakeID.file(number), "r\(number).csv")]))
    return id
  }

  func sync(_ world: KitWorld, _ options: SyncOptions) async throws -> (SyncSummary, RecordingSink) {
    let sink = RecordingSink()
    let summary = try await Sync(store: try world.store(), sink: sink, api: world.api()).run(options)
    return (summary, sink)
  }

  func warnings(_ sink: RecordingSink) -> [Diagnostic] {
    sink.all.compactMap { if case .diagnostic(let diagnostic) = $0 { diagnostic } else { nil } }
  }

  @Test func responsesFetchedByIdAreKeptAndRead() async throws {
    let world = try KitWorld()
    let first = storedResponse(world, 1)
    let second = storedResponse(world, 2)
    // Unknown ids first: 404s from the API about an id are not a run-wide failure.
    let unknown = (90...93).map { FakeID.response($0) }
    let list = (unknown + ["not-an-id", first, "", "# a comment", second, first]).joined(separator: "\n")
    var options = SyncOptions(paths: [])
    options.responseIDs = ResponseIDList(name: "ids.txt", text: list)
    let (summary, sink) = try await sync(world, options)
    #expect(summary.archived == 2)
    #expect(summary.logsScanned == 2)
    let problems = warnings(sink)
    #expect(problems.count == 5)
    // Each unknown id is reported on its own line, with the API's answer.
    for line in 1...4 {
      #expect(
        problems.contains {
          $0.location == LogLocation(path: "ids.txt", line: line) && $0.message.contains("could not be fetched")
            && $0.message.contains("not found")
        })
    }
    #expect(
      problems.contains {
        $0.location == LogLocation(path: "ids.txt", line: 5) && $0.message.contains("not a response id")
      })
    // Kept in the store, and the citation's log is the API's URL for it.
    let store = try ArtifactStore(root: world.directory.file("store"), access: .read)
    #expect(FileManager.default.fileExists(atPath: store.root + "/responses/\(first).json"))
    let found = try store.catalog.lookup(FakeID.file(1))
    #expect(found.first?.citations.first?.log == world.emulator.baseURL + "/responses/" + first)
    // A second run reads the kept copies: a completed response does not change.
    let before = world.emulator.requestLog.filter { $0.path.hasPrefix("/v1/responses/resp_") && $0.status == 200 }.count
    _ = try await sync(world, options)
    let after = world.emulator.requestLog.filter { $0.path.hasPrefix("/v1/responses/resp_") && $0.status == 200 }.count
    #expect(before == 2 && after == 2)
  }

  @Test func aConversationIsReadThroughEveryPage() async throws {
    let world = try KitWorld()
    var items: [String] = []
    var files: [EmulatedFile] = []
    for number in 1...230 {
      files.append(
        EmulatedFile(id: FakeID.file(number), path: "/mnt/data/c\(number).txt", bytes: Array("\(number)".utf8)))
    }
    let container = world.emulator.addContainer(files: files)
    for number in 1...230 {
      items.append(
        #"{"id":"msg_\#(number)","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"see c\#(number).txt","annotations":[{"type":"container_file_citation","container_id":"\#(container)","file_id":"\#(FakeID.file(number))","filename":"c\#(number).txt","start_index":4,"end_index":10}]}]}"#
      )
    }
    world.emulator.storeConversation(id: "conv_123", items: items)
    var options = SyncOptions(paths: [], pipeline: PipelineOptions(citedOnly: true))
    options.conversations = ["conv_123", "conv_unknown"]
    let (summary, sink) = try await sync(world, options)
    #expect(summary.archived == 230)
    let pages = world.emulator.requestLog.filter { $0.path == "/v1/conversations/conv_123/items" }
    #expect(pages.count == 3)
    #expect(pages.last?.query["after"] == "msg_200")
    #expect(warnings(sink).map(\.file) == [world.emulator.baseURL + "/conversations/conv_unknown/items"])
    let store = try ArtifactStore(root: world.directory.file("store"), access: .read)
    #expect(FileManager.default.fileExists(atPath: store.root + "/conversations/conv_123.json"))
  }
}
