import ArtifactsCore
import ArtifactsGzip
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsLogScan

struct LogScannerTests {
  let container = FakeID.container(1)

  private func line(_ response: Int, file: Int, name: String) -> String {
    responseLine(id: FakeID.response(response), container: container, files: [(FakeID.file(file), name)])
  }

  @Test func jsonLinesWithMalformedLinesKeepsEveryGoodRecord() throws {
    let directory = TemporaryDirectory()
    let path = directory.write(
      "app.jsonl",
      [
        line(1, file: 1, name: "a.csv"),
        #"{"id": "resp_broken", "output": [ {"type": "code_interpreter_call", "container_id": "cntr_"#,  // truncated
        "not json at all",
        line(2, file: 2, name: "b.png"),
        "",
        line(3, file: 3, name: "c.txt"),
      ].joined(separator: "\n") + "\n")
    let result = LogScanner().scan(path: path)
    #expect(result.format == .jsonLines)
    #expect(result.findings.citations.map(\.filename) == ["a.csv", "b.png", "c.txt"])
    #expect(result.findings.citations.map(\.location.line) == [1, 4, 6])
    #expect(result.skippedRecords == 1)  // "not json at all" mentions no container: never decoded
    let warning = try #require(result.findings.diagnostics.first)
    #expect(warning.location == LogLocation(path: path, line: 2))
    #expect(warning.message.contains("malformed JSON"))
  }

  @Test func gzippedJSONLinesIsDetectedByMagicNotName() throws {
    let directory = TemporaryDirectory()
    let text = (1...50).map { line($0, file: $0, name: "f\($0).csv") }.joined(separator: "\n") + "\n"
    let deflater = try GzipDeflater()
    var compressed: [UInt8] = []
    try Array(text.utf8).withUnsafeBytes { try deflater.feed($0) { compressed.append(contentsOf: $0) } }
    try deflater.finish { compressed.append(contentsOf: $0) }
    let path = directory.write("responses.log", Data(compressed))  // no .gz in the name
    let result = LogScanner().scan(path: path)
    #expect(result.compressed)
    #expect(result.findings.citations.count == 50)
    #expect(result.findings.diagnostics.isEmpty)
  }

  @Test func jsonArrayOfWrappedAndBatchRecords() throws {
    let directory = TemporaryDirectory()
    let wrapped = #"{"user": "ana", "response": \#(line(1, file: 1, name: "wrapped.csv"))}"#
    let batch =
      #"{"id":"batch_req_1","custom_id":"q-7","response":{"status_code":200,"request_id":"req_1","body":\#(line(2, file: 2, name: "batch.png"))},"error":null}"#
    let path = directory.write("array.json", "[\n  \(wrapped),\n  \(batch)\n]\n")
    let result = LogScanner().scan(path: path)
    #expect(result.format == .jsonDocument)
    #expect(result.findings.citations.map(\.filename) == ["wrapped.csv", "batch.png"])
    #expect(result.findings.citations.map { $0.response?.id } == [FakeID.response(1), FakeID.response(2)])
    #expect(result.findings.citations.map(\.location.line) == [2, 3])
  }

  @Test func batchErrorLinesAreReported() throws {
    let directory = TemporaryDirectory()
    let path = directory.write(
      "batch.jsonl",
      #"{"id":"batch_req_2","custom_id":"q-8","response":null,"error":{"code":"server_error","message":"boom"}, "note": "container_"}"#
        + "\n")
    let result = LogScanner().scan(path: path)
    #expect(result.findings.diagnostics.map(\.message) == ["batch request q-8 failed: boom"])
  }

  @Test func cutOffStreamStillCountsAnnotationsAndOldEventName() throws {
    let directory = TemporaryDirectory()
    let response =
      #"{"id":"resp_s1","object":"response","created_at":1700000000,"model":"gpt-5","status":"in_progress","output":[]}"#
    let annotation =
      #"{"type":"container_file_citation","container_id":"\#(container)","file_id":"cfile_1","filename":"early.csv","start_index":3,"end_index":9}"#
    let events = [
      #"{"type":"response.created","sequence_number":0,"response":\#(response)}"#,
      #"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi"}"#,
      #"{"type":"response.output_text.annotation.added","item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":0,"annotation":\#(annotation)}"#,
      #"{"type":"response.output_text_annotation.added","item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":1,"annotation":\#(annotation.replacingOccurrences(of: "cfile_1", with: "cfile_2"))}"#,
      #"{"type":"response.output_text.annotation.added","item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":2,"annotation":null}"#,
      #"{"type":"response.output_text.annotation.added","item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":3,"annotation":\#(annotation.replacingOccurrences(of: "cfile_1", with: "cfile_3"))}"#,
    ]
    let sse = events.map { "event: x\ndata: \($0)\n\n" }.joined()
    let path = directory.write("cut.sse", String(sse.dropLast(30)))  // cut inside the last event
    let result = LogScanner().scan(path: path)
    #expect(result.findings.citations.map(\.file.fileID) == ["cfile_1", "cfile_2"])
    #expect(result.findings.citations.allSatisfy { $0.response?.id == "resp_s1" && $0.citedText == nil })
    #expect(result.skippedRecords == 1)  // the cut event
  }

  @Test func emptyBinaryAndWhitespaceFilesGetAWarning() throws {
    let directory = TemporaryDirectory()
    for (name, bytes) in [
      ("empty.jsonl", Data()), ("blob.jsonl", Data([0x00, 0xFF, 0x13, 0x37])), ("blank.json", Data("  \n\n".utf8)),
    ] {
      let result = LogScanner().scan(path: directory.write(name, bytes))
      #expect(result.findings.citations.isEmpty)
      #expect(result.findings.diagnostics.count == 1, "\(name)")
    }
  }

  @Test func overlongLineIsSkippedWithBoundedMemory() throws {
    let directory = TemporaryDirectory()
    let long = #"{"container_id": ""# + String(repeating: "x", count: 3 << 20) + #""}"#
    let path = directory.write(
      "long.jsonl", line(1, file: 1, name: "a.csv") + "\n" + long + "\n" + line(2, file: 2, name: "b.csv") + "\n")
    let result = LogScanner(maximumRecordBytes: 1 << 20).scan(path: path)
    #expect(result.findings.citations.map(\.filename) == ["a.csv", "b.csv"])
    #expect(result.findings.diagnostics.first?.location?.line == 2)
    #expect(result.skippedRecords == 1)
  }

  @Test func missingFileIsAnErrorDiagnostic() {
    let result = LogScanner().scan(path: "/nonexistent/x.jsonl")
    #expect(result.findings.diagnostics.first?.severity == .error)
    #expect(result.findings.diagnostics.first?.message.contains("/nonexistent/x.jsonl") == true)
  }

  @Test func discoveryWalksDirectoriesAndReportsMissingPaths() throws {
    let directory = TemporaryDirectory()
    directory.write("a/1.jsonl", "{}")
    directory.write("a/b/2.json", "{}")
    directory.write("a/.hidden/3.json", "{}")
    let (files, missing) = LogDiscovery.logFiles(in: [directory.file("a"), directory.file("nope")])
    #expect(files.map { ($0 as NSString).lastPathComponent } == ["1.jsonl", "2.json"])
    #expect(missing == [directory.file("nope")])
  }
}
