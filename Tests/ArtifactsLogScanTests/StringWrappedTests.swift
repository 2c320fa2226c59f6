// Responses kept inside strings, as HTTP body loggers, stream recorders and test proxies keep
// them. The wrapped logs are made mechanically from every real fixture; each must yield
// exactly the citations the fixture itself yields, with the outer record's file and line.
import ArtifactsCore
import ArtifactsLogScan
import ArtifactsTestSupport
import Foundation
import Testing

struct StringWrappedTests {
  /// A JSON string literal of `text`.
  func quoted(_ text: String) -> String { jsonString(text) }

  /// The wrapped shapes of one fixture: (name, contents).
  func wrappings(of name: String) throws -> [(String, String)] {
    let text = try String(contentsOfFile: TestPaths.realFixture(name), encoding: .utf8)
    var shapes: [(String, String)] = []
    if name.hasSuffix(".json") {
      // An HTTP body logger's line, and the same line logged again as a string.
      let body = #"{"status":200,"method":"POST","url":"/v1/responses","response_body":\#(quoted(text))}"#
      shapes.append(("body-logger.jsonl", "{\"note\":\"first\"}\n" + body + "\n"))
      shapes.append(("logged-twice.jsonl", #"{"message":\#(quoted(body))}"# + "\n"))
    } else if name.hasSuffix(".sse") {
      // A whole stream in one string, and a test-proxy recording that keeps it as its lines.
      shapes.append(("stream-string.jsonl", #"{"status":200,"stream":\#(quoted(text))}"# + "\n"))
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { quoted(String($0)) }
      shapes.append(
        (
          "test-proxy.json",
          #"{"Entries":[{"RequestUri":"https://api.openai.com/v1/responses","StatusCode":200,"ResponseBody":[\#(lines.joined(separator: ","))]}]}"#
        ))
    } else if name.hasSuffix(".jsonl") {
      // A stream of JSON events kept as one string holding their array.
      let events = text.split(separator: "\n").joined(separator: ",")
      shapes.append(("events-string.jsonl", #"{"body":\#(quoted("[" + events + "]"))}"# + "\n"))
    }
    return shapes
  }

  func key(_ citation: Citation) -> String {
    "\(citation.file) \(citation.filename) [\(citation.startIndex),\(citation.endIndex)] \(citation.response?.id ?? "-")"
  }

  @Test(arguments: realFixtureExpectations.keys.sorted())
  func wrappedFixturesYieldTheirCitations(_ name: String) throws {
    let unwrapped = LogScanner().scan(path: TestPaths.realFixture(name)).findings.citations
    let directory = TemporaryDirectory("wrapped")
    for (shape, contents) in try wrappings(of: name) {
      let path = directory.write(shape, contents)
      let result = LogScanner().scan(path: path)
      #expect(result.findings.diagnostics.isEmpty, "\(name) as \(shape): \(result.findings.diagnostics)")
      #expect(result.findings.citations.map(key) == unwrapped.map(key), "\(name) as \(shape)")
      // Provenance: the outer record's file and line.
      let line = shape == "body-logger.jsonl" ? 2 : 1
      #expect(result.findings.citations.allSatisfy { $0.location == LogLocation(path: path, line: line) }, "\(shape)")
    }
  }

  @Test func stringsInsideStringsAreReadOnlyAFewLevelsDeep() throws {
    let line = responseLine(
      id: FakeID.response(1), container: FakeID.container(1), files: [(FakeID.file(1), "deep.csv")])
    var nested = line
    var depths: [Int: Int] = [:]
    let directory = TemporaryDirectory("wrapped")
    for depth in 1...4 {
      nested = #"{"wrapped":\#(quoted(nested))}"#
      let path = directory.write("depth\(depth).jsonl", nested + "\n")
      depths[depth] = LogScanner().scan(path: path).findings.citations.count
    }
    #expect(depths == [1: 1, 2: 1, 3: 1, 4: 0])
  }

  @Test func agentFrameworkCitationsAreContainerFileCitations() throws {
    let record = """
      {"role":"assistant","contents":[{"type":"text","text":"Here is the file.","annotations":[\
      {"type":"citation","title":"report","file_id":"cfile_68d5f31200208191afd3130709930804",\
      "url":"sandbox:/mnt/data/report.csv","annotated_regions":[{"type":"text_span","start_index":4,"end_index":12}],\
      "additional_properties":{"container_id":"cntr_68d5f2ff755081909108df3898ede7a50cf76b1756858cda"}},\
      {"type":"citation","title":"a web page","url":"https://example.com/"}]}]}
      """
    let directory = TemporaryDirectory("agent")
    let path = directory.write("agent.jsonl", record + "\n")
    let result = LogScanner().scan(path: path)
    let citation = try #require(result.findings.citations.first)
    #expect(result.findings.citations.count == 1)
    #expect(citation.file.containerID == "cntr_68d5f2ff755081909108df3898ede7a50cf76b1756858cda")
    #expect(citation.file.fileID == "cfile_68d5f31200208191afd3130709930804")
    #expect(citation.filename == "report.csv")
    #expect(citation.startIndex == 4 && citation.endIndex == 12)
  }
}
