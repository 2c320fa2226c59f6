import ArtifactsGzip
import Foundation
import Testing

struct GzipTests {
  func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
    let deflater = try GzipDeflater(level: level)
    var output: [UInt8] = []
    try bytes.withUnsafeBytes { try deflater.feed($0) { output.append(contentsOf: $0) } }
    try deflater.finish { output.append(contentsOf: $0) }
    return output
  }

  func inflate(_ bytes: [UInt8], chunk: Int = 7) throws -> [UInt8] {
    let inflater = try GzipInflater(outputChunkSize: 1024)
    var output: [UInt8] = []
    for start in stride(from: 0, to: bytes.count, by: chunk) {
      try Array(bytes[start..<min(start + chunk, bytes.count)]).withUnsafeBytes {
        try inflater.feed($0) { output.append(contentsOf: $0) }
      }
    }
    try inflater.finish()
    return output
  }

  @Test func roundTripInOddChunks() throws {
    let text = Array((0..<20_000).map { "line \($0) container_file_citation\n" }.joined().utf8)
    let compressed = try compress(text)
    #expect(hasGzipMagic(compressed))
    #expect(compressed.count < text.count / 5)
    #expect(try inflate(compressed, chunk: 13) == text)
  }

  @Test func readsWhatGzipItselfWrote() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gz-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let plain = directory.appendingPathComponent("a.txt")
    try Data("hello from gzip(1)\n".utf8).write(to: plain)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-k", plain.path]
    try process.run()
    process.waitUntilExit()
    let compressed = try Data(contentsOf: directory.appendingPathComponent("a.txt.gz"))
    #expect(try inflate(Array(compressed)) == Array("hello from gzip(1)\n".utf8))
  }

  @Test func concatenatedMembersReadAsOneStream() throws {
    let joined = try compress(Array("first\n".utf8)) + compress(Array("second\n".utf8))
    #expect(try inflate(joined) == Array("first\nsecond\n".utf8))
  }

  @Test func truncatedStreamKeepsWhatWasReadAndReportsTheCut() throws {
    let text = Array(String(repeating: "abcdefghij", count: 10_000).utf8)
    let compressed = try compress(text, level: 1)
    let inflater = try GzipInflater()
    var output: [UInt8] = []
    try Array(compressed.prefix(compressed.count / 2)).withUnsafeBytes {
      try inflater.feed($0) { output.append(contentsOf: $0) }
    }
    #expect(throws: GzipError.self) { try inflater.finish() }
    #expect(!output.isEmpty && text.starts(with: output))
  }

  @Test func corruptDataThrows() throws {
    var compressed = try compress(Array(String(repeating: "x", count: 1000).utf8))
    for index in 12..<20 { compressed[index] ^= 0xFF }
    #expect(throws: (any Error).self) { _ = try inflate(compressed) }
  }
}

struct ParallelGzipTests {
  func compress(_ bytes: [UInt8], threads: Int, chunk: Int) throws -> [UInt8] {
    var output: [UInt8] = []
    let writer = ParallelGzipWriter(level: 6, threads: threads) { output.append(contentsOf: $0) }
    for start in stride(from: 0, to: bytes.count, by: chunk) {
      try Array(bytes[start..<min(start + chunk, bytes.count)]).withUnsafeBytes { try writer.write($0) }
    }
    try writer.finish()
    return output
  }

  func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let inflater = try GzipInflater()
    var output: [UInt8] = []
    try bytes.withUnsafeBytes { try inflater.feed($0) { output.append(contentsOf: $0) } }
    try inflater.finish()
    return output
  }

  @Test(arguments: [0, 1, 131_072, 131_073, 3_000_000])
  func roundTripsAndIsIdenticalWhateverTheThreadCount(_ size: Int) throws {
    var text = [UInt8](repeating: 0, count: size)
    for index in 0..<size {
      let letter = UInt8(65 + index % 26)
      text[index] = index % 7 == 0 ? UInt8.random(in: 0...255) : letter
    }
    let one = try compress(text, threads: 1, chunk: 70_001)
    let four = try compress(text, threads: 4, chunk: 9_999)
    #expect(one == four)
    #expect(try gunzip(one) == text)
  }

  @Test func gzipItselfAcceptsTheStream() throws {
    let text = Array(String(repeating: "a,b,c\n1,2,3\n", count: 50_000).utf8)
    let compressed = try compress(text, threads: 2, chunk: 100_000)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgz-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try Data(compressed).write(to: directory.appendingPathComponent("x.gz"))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-t", directory.appendingPathComponent("x.gz").path]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(compressed.count < text.count / 20)
  }
}
