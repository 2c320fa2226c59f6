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

  @Test func aLongLogIsHandedOverInSegmentsEndingAtLines() throws {
    let directory = TemporaryDirectory()
    let lines = (1...7).map { line($0, file: $0, name: "f\($0).csv") }
    let path = directory.write("app.jsonl", lines.joined(separator: "\n") + "\n")
    var segments: [LogScanSegment] = []
    // Each line holds a response and a citation: two findings, so a segment every line.
    let result = LogScanner().scan(path: path, segmentSize: 4) {
      segments.append($0); return true
    }
    #expect(segments.map(\.consumedLines) == [2, 4, 6])
    #expect(
      segments.map { $0.findings.citations.map(\.filename) } == [
        ["f1.csv", "f2.csv"], ["f3.csv", "f4.csv"], ["f5.csv", "f6.csv"],
      ])
    #expect(segments[0].consumedBytes == Int64(lines[0].utf8.count + lines[1].utf8.count + 2))
    #expect(result.findings.citations.map(\.filename) == ["f7.csv"])
    #expect(result.consumedLines == 7 && result.records == 7)
    // A segment the caller could not keep stops the scan where it ends.
    var taken = 0
    let stopped = LogScanner().scan(path: path, segmentSize: 4) { _ in
      taken += 1; return false
    }
    #expect(taken == 1 && stopped.findings.citations.isEmpty && stopped.consumedLines == 2)
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

  @Test func missingFileIsAnErrorDiagnosticThatNamesTheFile() {
    let result = LogScanner().scan(path: "/nonexistent/x.jsonl")
    let diagnostic = result.findings.diagnostics.first
    #expect(diagnostic?.severity == .error)
    #expect(diagnostic?.file == "/nonexistent/x.jsonl" && diagnostic?.isFileLevel == true)
    #expect(diagnostic?.description.hasPrefix("/nonexistent/x.jsonl: cannot be read") == true)
  }

  @Test(arguments: [("empty.jsonl", "", "the file is empty"), ("notes.txt", "hello\n", "not a JSON")])
  func fileLevelWarningsNameTheirFile(name: String, content: String, message: String) throws {
    let directory = TemporaryDirectory()
    let path = directory.file(name)
    try content.write(toFile: path, atomically: true, encoding: .utf8)
    let diagnostic = try #require(LogScanner().scan(path: path).findings.diagnostics.first)
    #expect(diagnostic.file == path)
    #expect(diagnostic.description == "\(path): \(diagnostic.message)")
    #expect(diagnostic.message.contains(message))
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

  /// The walk's own identities (taken relative to each directory) are what a stat of each
  /// path says, for files below a directory, linked, and named directly, in the same order;
  /// the directories below the first, walked on several threads, keep the order one has.
  @Test func discoveryReportsEachFilesIdentity() throws {
    let directory = TemporaryDirectory()
    directory.write("a/1.jsonl", "{}")
    directory.write("a/b/2.json", "{\"id\": 2}")
    directory.write("a/b/d/4.json", "{}")
    directory.write("a/c/3.json", "{}")
    directory.write("c.jsonl", "{}\n{}")
    #expect(symlink(directory.file("c.jsonl"), directory.file("a/link.jsonl")) == 0)
    let inputs = [directory.file("a"), directory.file("c.jsonl")]
    let found = LogDiscovery.logFilesWithIdentities(in: inputs)
    #expect(found.files == LogDiscovery.logFiles(in: inputs).files)
    #expect(
      found.files.map { String($0.dropFirst(directory.file("").count)) } == [
        "a/1.jsonl", "a/b/2.json", "a/b/d/4.json", "a/c/3.json", "a/link.jsonl", "c.jsonl",
      ])
    #expect(found.identities.count == found.files.count)
    for (path, identity) in zip(found.files, found.identities) {
      #expect(identity != nil && identity == LogFileStatus.read(path: path), "\(path)")
    }
    #expect(found.identities[4] == found.identities[5], "a link is the file it names")
  }
}

struct InlineImageTests {
  @Test func dataURLImagesInCodeInterpreterOutputsAreDecoded() throws {
    let result = LogScanner().scan(path: TestPaths.realFixture("pydantic-ai-ci-chart-turn1.json"))
    let image = try #require(result.findings.inlineImages.first)
    #expect(result.findings.inlineImages.count == 1)
    #expect(image.mediaType == "image/png")
    #expect(image.bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    // IHDR width and height, big-endian at bytes 16 and 20: 1180×780 as SOURCES.md says.
    let width = image.bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
    let height = image.bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
    #expect((width, height) == (1180, 780))
    #expect(image.containerID == "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548")
    #expect(image.callID.hasPrefix("ci_"))
    #expect(image.response?.id == "resp_68cdc382bc98819083a5b47ec92e077b0187028ba77f15f7")
    #expect(image.filename == "\(image.callID)-output0.png")
  }

  @Test func imageRepeatedByStreamEventsIsTakenOnce() {
    let result = LogScanner().scan(path: TestPaths.realFixture("pydantic-ai-ci-chart-stream.sse"))
    #expect(result.findings.inlineImages.count == 1)
  }

  @Test func outputsNullHasNoImages() {
    let result = LogScanner().scan(path: TestPaths.realFixture("openai-dotnet-ci-sine-log.json"))
    #expect(result.findings.inlineImages.isEmpty)
  }
}

struct IncrementalScanTests {
  let container = FakeID.container(4)

  func line(_ number: Int) -> String {
    responseLine(id: FakeID.response(number), container: container, files: [(FakeID.file(number), "f\(number).csv")])
  }

  func checkpoint(_ result: LogScanResult, _ path: String) throws -> LogCheckpoint {
    let status = try #require(LogFileStatus.read(path: path))
    return LogCheckpoint(
      device: status.device, inode: status.inode, size: status.size, modifiedNanoseconds: status.modifiedNanoseconds,
      headFingerprint: try #require(IncrementalScan.fingerprint(path: path)), bytesConsumed: result.consumedBytes,
      linesConsumed: result.consumedLines, format: result.format, compressed: result.compressed,
      streamResponse: result.streamResponse)
  }

  /// Lines that straddle the scanner's 1 MiB reads (and, in a log being written, its short
  /// reads) end the scan exactly where the bytes do: counted twice, the offset ran ahead, and
  /// the next scan resumed past lines it had never read.
  @Test func linesAcrossReadsLeaveTheExactOffset() throws {
    let directory = TemporaryDirectory()
    let lines = (1...3000).map(line)
    let path = directory.write("app.jsonl", lines.joined(separator: "\n") + "\n")
    let size = try #require(LogFileStatus.read(path: path)).size
    #expect(size > 2 << 20)
    let first = LogScanner().scan(path: path)
    #expect(first.consumedBytes == size)
    #expect(first.consumedLines == 3000)
    let saved = try checkpoint(first, path)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((line(3001) + "\n").utf8))
    try handle.close()
    let plan = IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved)
    guard case .resume(let point) = plan else { Issue.record("expected resume, got \(plan)"); return }
    let second = LogScanner().scan(path: path, resume: point)
    #expect(second.findings.citations.map(\.filename) == ["f3001.csv"])
    #expect(second.findings.citations.map(\.location.line) == [3001])
    #expect(second.findings.diagnostics.isEmpty)
  }

  @Test func appendedLogIsReadFromWhereTheLastScanStopped() throws {
    let directory = TemporaryDirectory()
    let path = directory.write("app.jsonl", line(1) + "\n" + line(2) + "\n" + String(line(3).prefix(40)))
    let first = LogScanner().scan(path: path)
    #expect(first.findings.citations.map(\.filename) == ["f1.csv", "f2.csv"])
    #expect(first.skippedRecords == 0)
    #expect(first.findings.diagnostics.map(\.location?.line) == [3])  // incomplete, left for later
    var saved = try checkpoint(first, path)
    #expect(IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved) == .unchanged)

    // The writer finishes line 3 and adds line 4.
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data((String(line(3).dropFirst(40)) + "\n" + line(4) + "\n").utf8))
    try handle.close()
    let plan = IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved)
    guard case .resume(let point) = plan else { Issue.record("expected resume, got \(plan)"); return }
    #expect(point.line == 3)
    let second = LogScanner().scan(path: path, resume: point)
    #expect(second.findings.citations.map(\.filename) == ["f3.csv", "f4.csv"])
    #expect(second.findings.citations.map(\.location.line) == [3, 4])
    #expect(second.findings.diagnostics.isEmpty)
    saved = try checkpoint(second, path)
    #expect(saved.linesConsumed == 4)
  }

  @Test func rewrittenLogIsReadAgainInFull() throws {
    let directory = TemporaryDirectory()
    let path = directory.write("app.jsonl", line(1) + "\n")
    let saved = try checkpoint(LogScanner().scan(path: path), path)
    directory.write("app.jsonl", line(7) + "\n" + line(8) + "\n")  // same size or not, new head
    #expect(IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved) == .full)
  }

  @Test func shrunkOrCompressedLogsAreReadInFull() throws {
    let directory = TemporaryDirectory()
    let path = directory.write("app.jsonl", line(1) + "\n" + line(2) + "\n")
    var saved = try checkpoint(LogScanner().scan(path: path), path)
    saved.size += 10
    saved.modifiedNanoseconds -= 1
    #expect(IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved) == .full)
    saved = try checkpoint(LogScanner().scan(path: path), path)
    saved.compressed = true
    saved.size -= 10
    #expect(IncrementalScan.plan(path: path, status: LogFileStatus.read(path: path)!, previous: saved) == .full)
  }
}

/// Inputs the fuzzer (Scripts/fuzz) found; each once broke an invariant.
struct FuzzRegressionTests {
  @Test(arguments: ["merge-span-mismatch.sse"])
  func fuzzFindingStaysFixed(_ name: String) throws {
    let bytes = try Array(Data(contentsOf: TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/fuzz/\(name)")))
    let result = LogScanner(maximumRecordBytes: 4096, maximumDocumentBytes: 1 << 16).scan(bytes: bytes)
    for citation in result.findings.citations {
      if let text = citation.citedText {
        #expect(text.unicodeScalars.count == citation.endIndex - citation.startIndex)
      }
    }
    #expect(result.skippedRecords <= result.records)
  }
}

struct ParallelScanTests {
  /// A log of `lines` lines: a response citing a file every `citing`th, a broken record every
  /// `broken`th, with `repeating` a copy of the last citing line every `repeating`th, and
  /// responses citing nothing, of every length up to 300 bytes of padding, between them.
  func mixedLog(lines count: Int, citing: Int, broken: Int, repeating: Int? = nil) -> String {
    var lines: [String] = []
    for number in 1...count {
      if number % citing == 0 {
        lines.append(
          responseLine(
            id: FakeID.response(number), container: FakeID.container(number),
            files: [(FakeID.file(number), "f\(number).csv")]))
      } else if number % broken == 0 {
        lines.append(#"{"broken": "container_"#)
      } else if let repeating, number % repeating == 0 {
        lines.append(lines.last { $0.contains("container_file_citation") } ?? "{}")
      } else {
        lines.append(
          #"{"id":"resp_\#(number)","object":"response","output":[],"padding":"\#(String(repeating: "x", count: number % 300))"}"#
        )
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  @Test func splittingALogGivesTheSameResultAsReadingItWhole() throws {
    let directory = TemporaryDirectory()
    // The same response logged twice (every 53rd line): its citation must count once across
    // the parts.
    let path = directory.write("big.jsonl", mixedLog(lines: 600, citing: 37, broken: 101, repeating: 53))
    var sequential = LogScanner()
    sequential.maximumParallelism = 1
    var parallel = LogScanner()
    parallel.parallelThreshold = 1024
    parallel.maximumParallelism = 3
    #expect(parallel.parallelRanges(path: path)?.count == 3)
    let whole = sequential.scan(path: path)
    let split = parallel.scan(path: path)
    #expect(split.findings.citations == whole.findings.citations)
    #expect(split.findings.citations.count == 600 / 37)
    #expect(split.findings.diagnostics.map(\.location) == whole.findings.diagnostics.map(\.location))
    #expect(split.findings.responses.map(\.info.id) == whole.findings.responses.map(\.info.id))
    #expect(split.findings.sightings == whole.findings.sightings)
    #expect((split.records, split.skippedRecords) == (whole.records, whole.skippedRecords))
    #expect((split.consumedBytes, split.consumedLines) == (whole.consumedBytes, whole.consumedLines))
  }

  /// A part holds about a segment's findings: a dense log's parts are small (what is read
  /// ahead holds little), a sparse log's large (few parts to open and hand over).
  @Test func partsAreSizedByTheDensityReadSoFar() {
    let bounds: ClosedRange<Int64> = (1 << 20)...(16 << 20)
    func size(_ bytes: Int64, _ findings: Int) -> Int64 {
      LogScanner.partBytes(afterReading: bytes, found: findings, findingsPerPart: 2048, within: bounds)
    }
    #expect(size(0, 0) == 1 << 20)  // nothing read yet
    #expect(size(64 << 20, 0) == 16 << 20)  // nothing found
    #expect(size(4 << 20, 10_000) == 1 << 20)  // dense: 419 bytes a finding, 858 KiB wanted
    #expect(size(8 << 20, 2048) == 8 << 20)  // 4 KiB a finding
    #expect(size(64 << 20, 100) == 16 << 20)  // sparse
  }

  @Test func aSegmentedScanHandsOverEachPartInOrder() throws {
    let directory = TemporaryDirectory()
    let path = directory.write("big.jsonl", mixedLog(lines: 900, citing: 29, broken: 97))
    var sequential = LogScanner()
    sequential.maximumParallelism = 1
    let whole = sequential.scan(path: path)
    var parallel = LogScanner()
    parallel.parallelThreshold = 1024
    parallel.maximumParallelism = 3
    parallel.segmentedPartBytes = 1024...8192
    let bytes = Array(try #require(FileManager.default.contents(atPath: path)))
    func startsALine(_ offset: Int64) -> Bool { offset == bytes.count || bytes[Int(offset) - 1] == 0x0A }
    var segments: [LogScanSegment] = []
    // A segment of one finding: every part that found something ends one (a part that found
    // nothing goes with the next), in the order of the log, each where a line starts.
    let result = parallel.scan(path: path, segmentSize: 1) {
      segments.append($0); return true
    }
    #expect(segments.count > 10)
    #expect(segments.dropLast().allSatisfy { $0.findings.count >= 1 })
    #expect(segments.allSatisfy { startsALine($0.consumedBytes) })
    #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.consumedBytes < $1.consumedBytes })
    #expect(segments.last?.consumedBytes == Int64(bytes.count))
    #expect(segments.map(\.consumedLines) == segments.map(\.consumedLines).sorted())
    #expect(segments.flatMap(\.findings.citations) == whole.findings.citations)
    #expect(segments.flatMap(\.findings.responses).map(\.info.id) == whole.findings.responses.map(\.info.id))
    #expect(segments.allSatisfy { $0.findings.diagnostics.isEmpty })
    // The result: nothing after the last segment, every warning with its line, every count.
    #expect(result.findings.citations.isEmpty)
    #expect(result.findings.diagnostics.map(\.location) == whole.findings.diagnostics.map(\.location))
    #expect(result.findings.diagnostics.count == 900 / 97)
    #expect((result.records, result.skippedRecords) == (whole.records, whole.skippedRecords))
    #expect((result.consumedBytes, result.consumedLines) == (whole.consumedBytes, whole.consumedLines))

    // A segment of 40 findings: parts go together until they hold 40.
    var merged: [LogScanSegment] = []
    let whole40 = parallel.scan(path: path, segmentSize: 40) {
      merged.append($0); return true
    }
    #expect(merged.count < segments.count && merged.count > 1)
    #expect(merged.dropLast().allSatisfy { $0.findings.count >= 40 })
    #expect(merged.allSatisfy { startsALine($0.consumedBytes) })
    #expect(merged.last?.consumedBytes == whole.consumedBytes)
    #expect(merged.flatMap(\.findings.citations) == whole.findings.citations)
    #expect(merged.flatMap(\.findings.responses).map(\.info.id) == whole.findings.responses.map(\.info.id))
    #expect(whole40.findings.diagnostics.map(\.location) == whole.findings.diagnostics.map(\.location))

    // Stopped at the second segment: the scan ends there, however far the threads had read.
    // The pause lets them read as far ahead as they may (a reader taking the last room to
    // read ahead once left a semaphore that trapped when it was freed).
    // (Parts are sized by what was read when they were claimed, so two runs need not split
    // the log alike: the stop is held to the second segment of its own run.)
    for pause in [0, 20_000] as [useconds_t] {
      var taken: [LogScanSegment] = []
      let stopped = parallel.scan(path: path, segmentSize: 1) { segment in
        taken.append(segment)
        if taken.count == 2 { usleep(pause) }
        return taken.count < 2
      }
      #expect(taken.count == 2)
      #expect(stopped.consumedBytes == taken.last?.consumedBytes)
      #expect(stopped.consumedLines == taken.last?.consumedLines)
      #expect(stopped.consumedBytes < whole.consumedBytes)
    }
  }
}
