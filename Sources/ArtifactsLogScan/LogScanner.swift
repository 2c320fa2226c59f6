// Reads one log file of any supported shape and returns what it cites. A scan never fails
// because of one bad record: each is reported with its file and line, and the rest is read.
import ArtifactsCore
import CByteSearch
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public struct LogScanResult: Sendable {
  public var path: String
  public var format: LogFormat
  public var compressed: Bool
  public var findings: LogFindings
  /// Records read (lines, events or array elements), good or bad.
  public var records: Int
  /// Records that could not be decoded and were skipped with a diagnostic.
  public var skippedRecords: Int
  /// Decompressed bytes up to the end of the last complete record.
  public var consumedBytes: Int64
  /// Lines up to the same point (for line-oriented formats).
  public var consumedLines: Int
  /// For a stream of events: the response the last events belonged to.
  public var streamResponse: ResponseInfo?
}

/// What a long JSON Lines scan found up to a line, handed over before the rest is read (see
/// `LogScanner.scan(path:resume:readingFrom:segmentSize:onSegment:)`).
public struct LogScanSegment: Sendable {
  public var findings: LogFindings
  /// Where the next segment starts: every line before it has been read.
  public var consumedBytes: Int64
  public var consumedLines: Int
}

public struct LogScanner: Sendable {
  /// A single record (line or event) longer than this is skipped with a warning, so a runaway
  /// line cannot exhaust memory.
  public var maximumRecordBytes: Int
  /// A whole-document log (pretty-printed JSON) larger than this is refused with a warning.
  public var maximumDocumentBytes: Int

  public init(maximumRecordBytes: Int = 64 << 20, maximumDocumentBytes: Int = 256 << 20) {
    self.maximumRecordBytes = maximumRecordBytes
    self.maximumDocumentBytes = maximumDocumentBytes
  }

  /// Logs of plain JSON Lines at least this large are split at line boundaries and read by
  /// several threads at once.
  public var parallelThreshold: Int64 = 64 << 20
  public var maximumParallelism = min(4, ProcessInfo.processInfo.activeProcessorCount)
  /// How much of such a log each part of a segmented scan reads, sized from how dense the
  /// parts before it were: about a segment's worth of findings, within these bounds. A part
  /// of a dense log is small, so the parts read ahead of the one being recorded hold little
  /// (findings take several times their bytes); one of a sparse log is large, since each
  /// part costs a file, a buffer and a hand-over (2 MiB parts of a sparse 256 MiB log took
  /// 0.14 s against 0.11 s at 16 MiB). Parts go to the catalog together until they hold a
  /// segment's worth.
  public var segmentedPartBytes: ClosedRange<Int64> = (1 << 20)...(16 << 20)
  /// Warn of an empty log, or a last line with no newline yet. A watcher reads logs while
  /// they are being written, where both are the normal state between two writes.
  public var warnsOfUnfinishedLogs = true

  /// Scans `path`; problems with the file or its records become diagnostics in the result.
  /// With `resume`, reads a JSON Lines log from where an earlier scan stopped. `source`: where
  /// the bytes are read from when not `path` itself (`/proc/self/fd/N`, a file already open,
  /// so a rename between opening it and reading it cannot swap the file).
  public func scan(path: String, resume: ResumePoint? = nil, readingFrom source: String? = nil) -> LogScanResult {
    scan(path: path, resume: resume, readingFrom: source, segmentSize: nil, onSegment: nil)
  }

  /// The same, handing what was found to `onSegment` whenever `segmentSize` citations,
  /// sightings and responses have piled up in an uncompressed JSON Lines log, so memory stays
  /// bounded however many a log holds. The result holds only what came after the last
  /// segment, and every warning. `onSegment` returns false to stop reading (the result then
  /// ends there too). A log large enough to split is read by several threads a part at a time,
  /// and its parts are handed over in order, a segment's worth at a time, while the parts
  /// after them are read.
  public func scan(
    path: String, resume: ResumePoint? = nil, readingFrom source: String? = nil, segmentSize: Int?,
    onSegment: ((LogScanSegment) -> Bool)?
  ) -> LogScanResult {
    let reading = source ?? path
    if resume == nil, let segmentSize, let onSegment, let size = splittableSize(path: reading) {
      return scanInParts(
        path: path, reading: reading, size: size, segmentSize: max(1, segmentSize), recordingEach: onSegment)
    }
    if resume == nil, let ranges = parallelRanges(path: reading) {
      return scanInParallel(path: path, reading: reading, ranges: ranges)
    }
    var run = ScanRun(path: path, scanner: self)
    if let segmentSize, let onSegment {
      run.segmentSize = max(1, segmentSize)
      run.onSegment = onSegment
    }
    do {
      if let resume {
        run.extractor.streamResponse = resume.streamResponse
        try run.resume(ByteSource(path: reading, startingAt: resume.offset), at: resume)
      } else {
        try run.scan(ByteSource(path: reading))
      }
    } catch {
      run.extractor.addDiagnostic(Diagnostic(.error, error.problem, file: path))
    }
    return run.result
  }

  /// Scans bytes held in memory as if they were the log `name` (used by the fuzzer).
  public func scan(bytes: [UInt8], name: String = "<memory>") -> LogScanResult {
    var run = ScanRun(path: name, scanner: self)
    do {
      try run.scan(ByteSource(bytes: bytes, name: name))
    } catch {
      run.extractor.addDiagnostic(Diagnostic(.error, error.problem, file: name))
    }
    return run.result
  }
}

// MARK: Reading one large log with several threads

extension LogScanner {
  /// The size of `path` when it is an uncompressed log of plain JSON Lines (not stream
  /// events, whose lines depend on earlier ones) large enough to read in parts.
  func splittableSize(path: String) -> Int64? {
    guard maximumParallelism > 1, let status = LogFileIdentity.read(path: path), status.size >= parallelThreshold,
      let source = try? ByteSource(path: path)
    else { return nil }
    guard (try? source.detectCompression()) != nil, !source.isGzip, let head = try? source.next(),
      ScanRun.detectFormat(Array(head.prefix(1 << 16))) == .jsonLines, !ScanRun.startsWithEvent(head)
    else { return nil }
    return status.size
  }

  /// Byte ranges, one per thread, each starting at a line, when `path` can be read in parts.
  func parallelRanges(path: String) -> [Range<Int64>]? {
    guard let size = splittableSize(path: path) else { return nil }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var starts: [Int64] = [0]
    for part in 1..<maximumParallelism {
      // The next line after the nominal split point; a part with no line break is merged.
      let position = max(size * Int64(part) / Int64(maximumParallelism), starts.last! + 1)
      if let found = Self.lineStart(atOrAfter: position, in: descriptor, size: size) { starts.append(found) }
    }
    guard starts.count > 1 else { return nil }
    return zip(starts, starts.dropFirst().map { $0 } + [size]).map { $0..<$1 }
  }

  /// How much the next part of a segmented scan reads: about `findingsPerPart` findings at
  /// the density read so far, within `bounds` (the smallest before anything was read, the
  /// largest while nothing was found).
  static func partBytes(
    afterReading bytes: Int64, found findings: Int, findingsPerPart: Int, within bounds: ClosedRange<Int64>
  ) -> Int64 {
    guard bytes > 0 else { return bounds.lowerBound }
    guard findings > 0 else { return bounds.upperBound }
    let wanted = bytes / Int64(findings) * Int64(findingsPerPart)
    return min(max(wanted, bounds.lowerBound), bounds.upperBound)
  }

  /// Where the first line starting after `position - 1` begins, if one does before `size`.
  static func lineStart(atOrAfter position: Int64, in descriptor: Int32, size: Int64) -> Int64? {
    var probe = [UInt8](repeating: 0, count: 1 << 16)
    var position = position
    while position < size {
      let count = probe.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(position - 1)) }
      guard count > 0 else { return nil }
      if let newline = probe[..<count].firstIndex(of: 0x0A) {
        let start = position + Int64(newline)
        return start < size ? start : nil
      }
      position += Int64(count)
    }
    return nil
  }

  func scanInParallel(path: String, reading: String, ranges: [Range<Int64>]) -> LogScanResult {
    let parts = ranges.map { _ in ScanPart() }
    let readers = ReaderThreads(ranges.count) { index in
      parts[index].finish(scanPart(path: path, reading: reading, range: ranges[index]))
    }
    defer { readers.wait() }
    // Renumber each part's lines after the lines of the parts before it, and merge what they
    // found as one extractor would have (repeats of one annotation across parts count once).
    var merged = CitationExtractor()
    var combined = LogScanResult.parts(of: path)
    var linesBefore = 0
    for part in parts {
      var result = part.take()
      result.findings.shiftLines(by: linesBefore)
      merged.absorb(result.findings)
      combined.records += result.records
      combined.skippedRecords += result.skippedRecords
      combined.consumedBytes = result.consumedBytes
      combined.consumedLines = result.consumedLines + linesBefore
      // A part's last line is complete unless it is the file's last (only that may be cut).
      linesBefore += result.consumedLines
    }
    combined.findings = merged.findings
    return combined
  }

  /// The same, handing the parts to `recordingEach`, in order, as soon as they and those
  /// before them are read, while threads read the parts after them: recording a dense log
  /// overlaps reading it instead of waiting for all of it, and only the parts read but not
  /// yet handed over are held. Each thread claims the next part when it is free, sized from
  /// what the parts before it found. Consecutive parts are handed over together until they
  /// hold `segmentSize` findings: a segment is a transaction. A repeat of an annotation in a
  /// later part counts again; the catalog records it once. The result holds what every part
  /// warned of.
  func scanInParts(
    path: String, reading: String, size: Int64, segmentSize: Int, recordingEach: (LogScanSegment) -> Bool
  ) -> LogScanResult {
    var combined = LogScanResult.parts(of: path)
    let descriptor = open(reading, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      combined.findings.diagnostics.append(
        Diagnostic(.error, "cannot be read: \(String(cString: strerror(errno)))", file: path))
      return combined
    }
    defer { close(descriptor) }
    // Read ahead of the part being handed over: up to 64 MiB, so the threads keep reading
    // while a segment is recorded, and up to four segments' findings.
    let schedule = PartSchedule(
      descriptor: descriptor, size: size, partBytes: segmentedPartBytes, findingsPerPart: segmentSize,
      aheadBytes: 64 << 20, aheadFindings: 4 * segmentSize)
    let readers = ReaderThreads(maximumParallelism) { _ in
      while let (index, range) = schedule.claim() {
        let result = scanPart(path: path, reading: reading, range: range)
        schedule.finish(index, result, bytes: range.upperBound - range.lowerBound)
      }
    }
    var linesBefore = 0
    var pending = LogFindings()
    var unsent = false
    var index = 0
    while var result = schedule.take(index) {
      index += 1
      result.findings.shiftLines(by: linesBefore)
      combined.findings.diagnostics.append(contentsOf: result.findings.diagnostics)
      result.findings.diagnostics = []
      combined.records += result.records
      combined.skippedRecords += result.skippedRecords
      combined.consumedBytes = result.consumedBytes
      combined.consumedLines = result.consumedLines + linesBefore
      linesBefore += result.consumedLines
      pending.append(contentsOf: result.findings)
      unsent = true
      guard pending.count >= segmentSize else { continue }
      unsent = false
      let segment = LogScanSegment(
        findings: pending, consumedBytes: combined.consumedBytes, consumedLines: combined.consumedLines)
      pending = LogFindings()
      // Told to stop: the scan ends with this segment (the threads read no further).
      if !recordingEach(segment) {
        schedule.stop()
        break
      }
    }
    if unsent {
      _ = recordingEach(
        LogScanSegment(findings: pending, consumedBytes: combined.consumedBytes, consumedLines: combined.consumedLines))
    }
    readers.wait()
    return combined
  }

  /// Reads one part of a large log, numbering its lines from 1.
  private func scanPart(path: String, reading: String, range: Range<Int64>) -> LogScanResult {
    var run = ScanRun(path: path, scanner: self)
    do throws(LogScanError) {
      try run.scanPart(
        ByteSource(path: reading, startingAt: range.lowerBound, endingAt: range.upperBound), from: range.lowerBound)
    } catch {
      run.extractor.addDiagnostic(Diagnostic(.error, error.problem, file: path))
    }
    return run.result
  }
}

/// The parts of a segmented scan: handed out to threads one at a time, from where the last
/// one ended to the first line after about a segment's worth of findings at the density read
/// so far; kept until the consumer takes them, in order. A thread waits for room before it
/// claims a part: at most `aheadBytes` of parts and (past one part) `aheadFindings` findings
/// read or being read and not yet taken.
private final class PartSchedule: @unchecked Sendable {
  private let condition = NSCondition()
  private let descriptor: Int32
  private let size: Int64
  private let partBytes: ClosedRange<Int64>
  private let findingsPerPart: Int
  private let aheadBytes: Int64
  private let aheadFindings: Int
  // Guarded by `condition`.
  private var cursor: Int64 = 0
  private var claimed = 0
  private var results: [Int: (result: LogScanResult, bytes: Int64)] = [:]
  private var heldBytes: Int64 = 0
  private var heldParts = 0
  private var heldFindings = 0
  private var bytesRead: Int64 = 0
  private var findingsRead = 0
  private var stopped = false

  init(
    descriptor: Int32, size: Int64, partBytes: ClosedRange<Int64>, findingsPerPart: Int, aheadBytes: Int64,
    aheadFindings: Int
  ) {
    self.descriptor = descriptor
    self.size = size
    self.partBytes = partBytes
    self.findingsPerPart = findingsPerPart
    self.aheadBytes = aheadBytes
    self.aheadFindings = aheadFindings
  }

  /// The next part to read, once there is room; nil when the log is all handed out or the
  /// scan was stopped.
  func claim() -> (index: Int, range: Range<Int64>)? {
    condition.lock()
    defer { condition.unlock() }
    while !stopped && cursor < size && heldParts > 0
      && (heldBytes >= aheadBytes || heldFindings >= aheadFindings)
    {
      condition.wait()
    }
    guard !stopped, cursor < size else { return nil }
    let start = cursor
    let end = LogScanner.lineStart(atOrAfter: start + nextPartBytes, in: descriptor, size: size) ?? size
    cursor = end
    claimed += 1
    heldParts += 1
    heldBytes += end - start
    return (claimed - 1, start..<end)
  }

  private var nextPartBytes: Int64 {
    LogScanner.partBytes(
      afterReading: bytesRead, found: findingsRead, findingsPerPart: findingsPerPart, within: partBytes)
  }

  /// Part `index`, of `bytes`, was read.
  func finish(_ index: Int, _ result: LogScanResult, bytes: Int64) {
    condition.lock()
    results[index] = (result, bytes)
    heldFindings += result.findings.count
    bytesRead += bytes
    findingsRead += result.findings.count
    condition.broadcast()
    condition.unlock()
  }

  /// Part `index` once it is read, let go of here; nil when there is no such part (the log
  /// ended before it, or the scan was stopped).
  func take(_ index: Int) -> LogScanResult? {
    condition.lock()
    defer { condition.unlock() }
    while results[index] == nil {
      if index >= claimed && (stopped || cursor >= size) { return nil }
      condition.wait()
    }
    let (result, bytes) = results.removeValue(forKey: index)!
    heldParts -= 1
    heldBytes -= bytes
    heldFindings -= result.findings.count
    condition.broadcast()
    return result
  }

  func stop() {
    condition.lock()
    stopped = true
    condition.broadcast()
    condition.unlock()
  }
}

extension LogScanResult {
  /// Nothing yet of a plain JSON Lines log read in parts: what the parts' results add up into.
  fileprivate static func parts(of path: String) -> LogScanResult {
    LogScanResult(
      path: path, format: .jsonLines, compressed: false, findings: LogFindings(), records: 0, skippedRecords: 0,
      consumedBytes: 0, consumedLines: 0, streamResponse: nil)
  }
}

/// The threads that read a large log's parts: threads of their own, not Dispatch's pool,
/// whose threads number the cores. The caller waiting for the parts (inside Kit's `blocking`)
/// usually holds one of those, so on two cores the second reader started only once the first
/// had read the whole log.
private struct ReaderThreads {
  private let group = DispatchGroup()

  /// Starts `count` threads, the one numbered `n` running `body(n)`.
  init(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    for number in 0..<count {
      group.enter()
      let thread = Thread { [group] in
        body(number)
        group.leave()
      }
      thread.name = "artifacts.scan.\(number)"
      thread.start()
    }
  }

  /// Returns once every thread has ended.
  func wait() { group.wait() }
}

/// One thread's share of a parallel scan.
private final class ScanPart: Sendable {
  private let result = Mutex<LogScanResult?>(nil)
  private let done = DispatchSemaphore(value: 0)

  func finish(_ scanned: LogScanResult) {
    result.withLock { $0 = scanned }
    done.signal()
  }

  /// The part's result, once it has been read; the part lets go of it, so a scan holds only
  /// the parts read and not yet handed over (not every part until the last).
  func take() -> LogScanResult {
    done.wait()
    return result.withLock { held in
      defer { held = nil }
      return held!
    }
  }
}

/// The state of one scan of one file.
private struct ScanRun {
  let path: String
  let scanner: LogScanner
  var extractor = CitationExtractor()
  var format = LogFormat.empty
  var compressed = false
  var records = 0
  var skipped = 0
  var consumed: Int64 = 0
  var consumedLines = 0
  var segmentSize = Int.max
  var onSegment: ((LogScanSegment) -> Bool)?

  init(path: String, scanner: LogScanner) {
    self.path = path
    self.scanner = scanner
  }

  var result: LogScanResult {
    LogScanResult(
      path: path, format: format, compressed: compressed, findings: extractor.findings, records: records,
      skippedRecords: skipped, consumedBytes: consumed, consumedLines: consumedLines,
      streamResponse: extractor.streamResponse)
  }

  mutating func warn(_ message: String, line: Int?) {
    if let line {
      extractor.addDiagnostic(Diagnostic(.warning, message, at: LogLocation(path: path, line: line)))
    } else {
      extractor.addDiagnostic(Diagnostic(.warning, message, file: path))
    }
  }

  mutating func scan(_ source: ByteSource) throws(LogScanError) {
    try source.detectCompression()
    compressed = source.isGzip
    guard let first = try source.next() else {
      if scanner.warnsOfUnfinishedLogs { warn("the file is empty", line: nil) }
      return
    }
    format = Self.detectFormat(Array(first.prefix(1 << 16)))
    switch format {
    case .jsonDocument:
      try readDocument(first: first, source: source)
    case .jsonLines:
      try readLines(first: first, source: source, firstLine: 1) { run, line, number, mayMatter in
        run.addJSONLine(line, number: number, mayMatter: mayMatter)
      }
    case .eventStream:
      var event = EventAccumulator()
      try readLines(first: first, source: source, firstLine: 1) { run, line, number, _ in
        run.addEventLine(line, number: number, into: &event)
      }
      dispatch(&event)
    case .empty:
      warn("the file holds only white space", line: nil)
    case .unrecognized:
      warn("not a JSON, JSON Lines or event-stream log; skipped", line: nil)
    }
  }

  /// Reads one part of a large JSON Lines log, numbering its lines from 1.
  mutating func scanPart(_ source: ByteSource, from offset: Int64) throws(LogScanError) {
    format = .jsonLines
    consumed = offset
    guard let first = try source.next() else { return }
    try readLines(first: first, source: source, firstLine: 1, startOffset: offset) { run, line, number, mayMatter in
      run.addJSONLine(line, number: number, mayMatter: mayMatter)
    }
  }

  /// Reads the tail of a JSON Lines log that grew since `resume` was recorded.
  mutating func resume(_ source: ByteSource, at resume: ResumePoint) throws(LogScanError) {
    format = .jsonLines
    consumed = resume.offset
    consumedLines = resume.line - 1
    guard let first = try source.next() else { return }
    try readLines(first: first, source: source, firstLine: resume.line, startOffset: resume.offset) {
      run, line, number, mayMatter in
      run.addJSONLine(line, number: number, mayMatter: mayMatter)
    }
  }

  // MARK: Format detection

  static func detectFormat(_ head: [UInt8]) -> LogFormat {
    var index = 0
    if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF { index = 3 }
    while index < head.count, [0x20, 0x0A, 0x0D, 0x09].contains(head[index]) { index += 1 }
    guard index < head.count else { return .empty }
    switch head[index] {
    case UInt8(ascii: "["):
      return .jsonDocument
    case UInt8(ascii: "{"):
      // JSON Lines when the first line is a whole value; pretty-printed JSON opens with a line
      // that is not (usually a lone `{`).
      guard let newline = head[index...].firstIndex(of: 0x0A) else { return .jsonLines }
      var end = newline
      while end > index, [0x20, 0x0D, 0x09].contains(head[end - 1]) { end -= 1 }
      return head[end - 1] == UInt8(ascii: "}") ? .jsonLines : .jsonDocument
    default:
      let text = String(decoding: head[index..<min(head.count, index + 8)], as: UTF8.self)
      if text.hasPrefix("event:") || text.hasPrefix("data:") || text.hasPrefix(":") || text.hasPrefix("id:")
        || text.hasPrefix("retry:")
      {
        return .eventStream
      }
      return .unrecognized
    }
  }

  // MARK: Whole documents

  mutating func readDocument(first: UnsafeRawBufferPointer, source: ByteSource) throws(LogScanError) {
    var document = Array(first)
    while let chunk = try source.next() {
      document.append(contentsOf: chunk)
      if document.count > scanner.maximumDocumentBytes {
        warn(
          "a single JSON document larger than \(scanner.maximumDocumentBytes >> 20) MiB is not read; store such logs as JSON Lines",
          line: 1)
        skipped += 1
        return
      }
    }
    document.withUnsafeBytes { bytes in
      var parser = JSONParser(bytes: bytes, position: 0)
      parser.skipWhitespace()
      do throws(JSONSyntaxError) {
        if parser.currentByte == UInt8(ascii: "[") {
          try parser.expect(UInt8(ascii: "["))
          parser.skipWhitespace()
          if parser.currentByte == UInt8(ascii: "]") {
            try parser.expect(UInt8(ascii: "]"))
          } else {
            try readArrayElements(&parser, bytes)
          }
        } else {
          let start = parser.position
          let value = try parser.parseNextValue()
          records += 1
          extractor.add(record: value, at: LogLocation(path: path, line: Self.lineNumber(bytes, start)))
        }
        if parser.repairedText { warn("invalid UTF-8 was replaced with U+FFFD", line: nil) }
        parser.skipWhitespace()
        if !parser.isAtEnd {
          warn("unexpected text after the JSON document was ignored", line: Self.lineNumber(bytes, parser.position))
        }
        consumed = Int64(bytes.count)
      } catch {
        records += 1
        skipped += 1
        warn(
          "malformed JSON (\(error.message)); the rest of the file was skipped",
          line: Self.lineNumber(bytes, error.offset))
      }
    }
  }

  /// Reads the elements of a top-level array one by one, so a bad element late in the file does
  /// not hide the good ones before it.
  mutating func readArrayElements(_ parser: inout JSONParser, _ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) {
    while true {
      parser.skipWhitespace()
      let start = parser.position
      let element = try parser.parseNextValue()
      records += 1
      extractor.add(record: element, at: LogLocation(path: path, line: Self.lineNumber(bytes, start)))
      parser.skipWhitespace()
      if parser.currentByte == UInt8(ascii: ",") {
        try parser.expect(UInt8(ascii: ","))
      } else {
        try parser.expect(UInt8(ascii: "]"))
        return
      }
    }
  }

  /// Whether the first line is a stream event (`"type":"response.…"` or `"type":"error"`).
  static func startsWithEvent(_ head: UnsafeRawBufferPointer) -> Bool {
    guard let base = head.baseAddress else { return false }
    let end = memchr(base, 0x0A, head.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? head.count
    let line = UnsafeRawBufferPointer(rebasing: head[..<end])
    guard let value = try? JSONParser.parse(trimmed(line)), let type = value["type"]?.stringValue else {
      // Undecodable (or very long) first line: be safe and look for stream openings too.
      return end == head.count || (try? JSONParser.parse(trimmed(line))) == nil
    }
    return type.hasPrefix("response.") || type == "error"
  }

  static func lineNumber(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Int {
    var line = 1
    for byte in bytes[..<min(offset, bytes.count)] where byte == 0x0A { line += 1 }
    return line
  }

  // MARK: Line-oriented formats

  /// Splits the stream into lines without holding more than one (bounded) line in memory, and
  /// hands each to `handle` with its 1-based line number and, for lines that lie within one
  /// chunk, whether the chunk-wide prefilter found a needle in it (nil: not known).
  mutating func readLines(
    first: UnsafeRawBufferPointer, source: ByteSource, firstLine: Int, startOffset: Int64 = 0,
    handle: (inout ScanRun, UnsafeRawBufferPointer, Int, Bool?) -> Void
  ) throws(LogScanError) {
    var carry: [UInt8] = []
    var carryTooLong = false
    var lineNumber = firstLine
    var offset: Int64 = startOffset  // decompressed offset of the start of `carry`
    var chunk: UnsafeRawBufferPointer? = first
    // Only logs of stream events (one JSON event per line) need the lines that open a stream.
    let eventLines = Self.startsWithEvent(first)
    while let buffer = chunk, let base = buffer.baseAddress {
      var hits = NeedleHits(buffer, streamOpenings: eventLines)
      var start = 0
      while start < buffer.count {
        guard let newline = memchr(base + start, 0x0A, buffer.count - start) else { break }
        let end = base.distance(to: UnsafeRawPointer(newline))
        let length = end - start
        // The whole line: what was carried from earlier reads and what this one adds.
        let lineLength = carry.count + length
        if carryTooLong || lineLength > scanner.maximumRecordBytes {
          records += 1
          skipped += 1
          warn("a line longer than \(scanner.maximumRecordBytes >> 20) MiB was skipped", line: lineNumber)
        } else if carry.isEmpty {
          handle(&self, UnsafeRawBufferPointer(rebasing: buffer[start..<end]), lineNumber, hits.any(in: start..<end))
        } else {
          carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
          carry.withUnsafeBytes { handle(&self, $0, lineNumber, nil) }
        }
        offset += Int64(lineLength + 1)
        consumed = offset
        consumedLines = lineNumber
        carry.removeAll(keepingCapacity: carry.count < (1 << 20))
        carryTooLong = false
        lineNumber += 1
        start = end + 1
        if extractor.findings.count >= segmentSize, format == .jsonLines, !compressed, let onSegment {
          let segment = LogScanSegment(
            findings: extractor.takeFindings(), consumedBytes: consumed, consumedLines: consumedLines)
          // Told to stop: the scan ends with the segment (nothing after it is read).
          if !onSegment(segment) { return }
        }
      }
      if start < buffer.count {
        let rest = buffer.count - start
        if carryTooLong || carry.count + rest > scanner.maximumRecordBytes {
          // Keep counting the bytes for the offset, but stop holding them.
          offset += Int64(carry.count + rest)
          carry.removeAll()
          carryTooLong = true
        } else {
          carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
      }
      chunk = try source.next()
    }
    if carryTooLong {
      records += 1
      skipped += 1
      warn("a line longer than \(scanner.maximumRecordBytes >> 20) MiB was skipped", line: lineNumber)
    } else if !carry.isEmpty {
      // The last line has no newline: a log still being written, or a record cut short. It
      // counts only if it is a whole JSON value (whatever the prefilter would say); if not, it
      // is left for the next scan, not consumed and not counted as skipped, with a warning in
      // case the writer never finishes it.
      let complete =
        format != .jsonLines
        || carry.withUnsafeBytes { bytes in
          Self.trimmed(bytes).isEmpty || (try? JSONParser.parse(Self.trimmed(bytes))) != nil
        }
      if complete {
        carry.withUnsafeBytes { handle(&self, $0, lineNumber, nil) }
        consumed = offset + Int64(carry.count)
        consumedLines = lineNumber
      } else if scanner.warnsOfUnfinishedLogs {
        warn("the last line is incomplete; it will be read once the log is complete", line: lineNumber)
      }
    }
  }

  mutating func addJSONLine(_ raw: UnsafeRawBufferPointer, number: Int, mayMatter: Bool?) {
    // Most records cite nothing; only those that mention a container (or open a stream of
    // events, whose later lines need the response they belong to) are decoded.
    if mayMatter == false {
      if raw.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) { records += 1 }
      return
    }
    let line = Self.trimmed(raw)
    guard !line.isEmpty else { return }
    records += 1
    guard mayMatter == true || RecordFilter.mayMatter(line) else { return }
    decode(line, at: number, what: "JSON record")
  }

  mutating func addEventLine(_ raw: UnsafeRawBufferPointer, number: Int, into event: inout EventAccumulator) {
    let line = Self.trimmed(raw)
    if line.isEmpty {
      dispatch(&event)
      return
    }
    guard line[0] != UInt8(ascii: ":") else { return }  // comment
    let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
    let field = String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self)
    guard field == "data" else { return }  // `event:`, `id:` and `retry:` add nothing: the JSON names its type
    var valueStart = min(colon + 1, line.count)
    if valueStart < line.count, line[valueStart] == 0x20 { valueStart += 1 }
    if event.data.isEmpty {
      event.line = number
    } else {
      event.data.append(0x0A)
    }
    if event.data.count + (line.count - valueStart) > scanner.maximumRecordBytes {
      event.tooLong = true
      event.data.removeAll()
    } else if !event.tooLong {
      event.data.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[valueStart...]))
    }
  }

  mutating func dispatch(_ event: inout EventAccumulator) {
    defer { event = EventAccumulator() }
    if event.tooLong {
      records += 1
      skipped += 1
      warn("an event longer than \(scanner.maximumRecordBytes >> 20) MiB was skipped", line: event.line)
      return
    }
    guard !event.data.isEmpty else { return }
    records += 1
    event.data.withUnsafeBytes { data in
      if data.elementsEqual("[DONE]".utf8) { return }
      guard RecordFilter.mayMatter(data) else { return }
      decode(data, at: event.line, what: "event data")
    }
  }

  mutating func decode(_ bytes: UnsafeRawBufferPointer, at line: Int, what: String) {
    var repaired = false
    do {
      let value = try JSONParser.parse(bytes, repairedText: &repaired)
      if repaired { warn("invalid UTF-8 in a \(what) was replaced with U+FFFD", line: line) }
      extractor.add(record: value, at: LogLocation(path: path, line: line))
    } catch {
      skipped += 1
      warn("malformed \(what) skipped (\(error))", line: line)
    }
  }

  static func trimmed(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    var end = line.count
    while end > 0, line[end - 1] == 0x0D || line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
    var start = 0
    while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
    return UnsafeRawBufferPointer(rebasing: line[start..<end])
  }
}

/// One server-sent event being assembled from its `data:` lines.
struct EventAccumulator {
  var data: [UInt8] = []
  var line = 0
  var tooLong = false
}

/// The cheap byte-level test that lets most records skip decoding entirely: a record matters
/// when it mentions a container (`container_file_citation`, `container_id`) or opens a stream
/// of events (whose later lines need the response they belong to).
enum RecordFilter {
  static let container = Array("container_".utf8)
  static let response = Array("response.".utf8)
  static let streamOpenings = ["created", "in_progress", "queued"].map { Array($0.utf8) }

  static func mayMatter(_ record: UnsafeRawBufferPointer) -> Bool {
    guard let base = record.baseAddress else { return false }
    return find(container, in: base, record.count, from: 0) != nil
      || findStreamOpening(in: base, record.count, from: 0) != nil
  }

  /// The offset of the first `needle` at or after `from`.
  static func find(_ needle: [UInt8], in base: UnsafeRawPointer, _ count: Int, from: Int) -> Int? {
    guard from < count else { return nil }
    return needle.withUnsafeBytes { needleBytes in
      byte_search(base + from, count - from, needleBytes.baseAddress, needleBytes.count)
        .map { base.distance(to: $0) }
    }
  }

  /// The offset of the first `response.created|in_progress|queued` at or after `from`.
  static func findStreamOpening(in base: UnsafeRawPointer, _ count: Int, from: Int) -> Int? {
    var position = from
    while let hit = find(response, in: base, count, from: position) {
      let after = hit + response.count
      for suffix in streamOpenings where after + suffix.count <= count {
        if memcmp(base + after, suffix, suffix.count) == 0 { return hit }
      }
      position = hit + 1
    }
    return nil
  }
}

/// Needle positions in one chunk, searched once per chunk (a vectorised search is far faster than a
/// test per line), then consulted line by line.
struct NeedleHits {
  private let base: UnsafeRawPointer?
  private let count: Int
  /// Next hit at or after the last line asked about; `Int.max` once there is none.
  private var nextContainer = -1
  private var nextStreamOpening = -1
  private let streamOpenings: Bool

  /// `streamOpenings`: also look for the events that open a stream (only event logs have them).
  init(_ buffer: UnsafeRawBufferPointer, streamOpenings: Bool) {
    base = buffer.baseAddress
    count = buffer.count
    self.streamOpenings = streamOpenings
  }

  mutating func any(in range: Range<Int>) -> Bool {
    guard let base else { return false }
    if nextContainer < range.lowerBound {
      nextContainer = RecordFilter.find(RecordFilter.container, in: base, count, from: range.lowerBound) ?? .max
    }
    if nextContainer < range.upperBound { return true }
    guard streamOpenings else { return false }
    if nextStreamOpening < range.lowerBound {
      nextStreamOpening = RecordFilter.findStreamOpening(in: base, count, from: range.lowerBound) ?? .max
    }
    return nextStreamOpening < range.upperBound
  }
}
