import ArtifactsCatalog
import ArtifactsCore
import ArtifactsTestSupport
import Foundation
import Testing

struct CatalogTests {
  let container = FakeID.container(9)

  func citation(_ file: Int, _ name: String, response: Int, line: Int, annotation: Int = 0, text: String? = nil)
    -> Citation
  {
    Citation(
      file: ContainerFileRef(containerID: container, fileID: FakeID.file(file)), filename: name, startIndex: 1,
      endIndex: 5, citedText: text,
      response: ResponseInfo(id: FakeID.response(response), createdAt: 1_700_000_000 + Int64(response), model: "gpt-5"),
      itemID: "msg_\(response)", outputIndex: 1, contentIndex: 0, annotationIndex: annotation,
      location: LogLocation(path: "/logs/a.jsonl", line: line))
  }

  func contribution(_ citations: [Citation]) -> LogContribution {
    LogContribution(path: "/logs/a.jsonl", format: "jsonl", citations: citations, sightings: [], responses: [])
  }

  @Test func recordingTheSameLogTwiceAddsNothing() throws {
    let catalog = try Catalog(inMemory: ())
    let citations = [
      citation(1, "chart.png", response: 1, line: 1), citation(2, "data.csv", response: 1, line: 1, annotation: 1),
    ]
    let first = try catalog.record(contribution(citations))
    let second = try catalog.record(contribution(citations))
    #expect(first == RecordOutcome(newFiles: 2, newCitations: 2))
    #expect(second == RecordOutcome(newFiles: 0, newCitations: 0))
    #expect(try catalog.pendingWork().count == 2)
  }

  @Test func laterCopyFillsInTheCitedText() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(contribution([citation(1, "a.csv", response: 1, line: 3)]))
    _ = try catalog.record(contribution([citation(1, "a.csv", response: 1, line: 9, text: "sandbox:/mnt/data/a.csv")]))
    let found = try catalog.find(FindQuery(states: [.pending]))
    #expect(found.first?.citations.map(\.citedText) == ["sandbox:/mnt/data/a.csv"])
  }

  @Test func archivingIsTheCommitPointAndFindSeesIt() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(
      contribution([citation(1, "Chart.PNG", response: 1, line: 1), citation(2, "notes.txt", response: 2, line: 2)]))
    let work = try catalog.pendingWork()
    let digest = Digest(hex: String(repeating: "ab", count: 32))!
    try catalog.markArchived(work[0], digest: digest, size: 10, mediaType: "image/png", attempts: 1)
    try catalog.markUnarchived(work[1], state: .lost, reason: "HTTP 404", attempts: 1)
    #expect(try catalog.pendingWork().isEmpty)
    #expect(try catalog.find(FindQuery(pattern: .substring("chart"))).map(\.filename) == ["Chart.PNG"])
    #expect(try catalog.find(FindQuery(pattern: .substring("chart.png"))).count == 1)  // smart case: lower-case ignores case
    #expect(try catalog.find(FindQuery(pattern: .substring("chart.PNG"))).isEmpty)  // upper-case letter: exact case
    #expect(try catalog.find(FindQuery(pattern: .substring("Ch"))).count == 1)  // shorter than a trigram
    #expect(try catalog.find(FindQuery(pattern: .substring("notes"))).isEmpty)  // lost, not archived
    #expect(try catalog.find(FindQuery(pattern: .substring("notes"), states: [.lost])).first?.lastError == "HTTP 404")
    #expect(try catalog.stateCounts() == [.archived: 1, .lost: 1])
  }

  @Test func patternPunctuationIsPlainText() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(
      contribution([
        citation(1, "my-file (1).csv", response: 1, line: 1),
        citation(2, "100%_done.txt", response: 1, line: 1, annotation: 1),
        citation(3, "say \"hi\".md", response: 1, line: 1, annotation: 2),
      ]))
    for (index, item) in try catalog.pendingWork().enumerated() {
      try catalog.markArchived(
        item, digest: Digest(hex: String(repeating: "\(index)", count: 64))!, size: 1, mediaType: "text/plain",
        attempts: 1)
    }
    #expect(try catalog.find(FindQuery(pattern: .substring("(1)"))).map(\.filename) == ["my-file (1).csv"])
    #expect(try catalog.find(FindQuery(pattern: .substring("%_"))).map(\.filename) == ["100%_done.txt"])
    #expect(try catalog.find(FindQuery(pattern: .substring("\"hi\""))).map(\.filename) == ["say \"hi\".md"])
  }

  @Test func onDiskCatalogIsPrivateAndMigrated() throws {
    let directory = TemporaryDirectory()
    let path = directory.file("catalog.sqlite")
    let catalog = try Catalog(path: path)
    #expect(try catalog.appliedMigrations() == ["v001_initial", "v002_incremental_scan"])
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
  }
}
