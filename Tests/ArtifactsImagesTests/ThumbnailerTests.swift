// Thumbnails through the real libvips (Debian's libvips42): what is made, and what is refused
// before it is decoded.
import ArtifactsImages
import ArtifactsTestSupport
import Foundation
import Testing

struct ThumbnailerTests {
  static func examplePNG() throws -> [UInt8] {
    let directory = TestPaths.packageRoot.appendingPathComponent("Examples/containers/files").path
    let name = try #require(
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted().first { $0.hasSuffix(".png") })
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
  }

  /// Width and height a WebP file declares (lossy `VP8 `, or the extended `VP8X` header).
  static func webpSize(_ bytes: [UInt8]) -> (Int, Int)? {
    guard bytes.count > 30, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8)
    else { return nil }
    let chunk = String(decoding: bytes[12..<16], as: UTF8.self)
    func le(_ offset: Int, _ count: Int) -> Int {
      (0..<count).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
    switch chunk {
    case "VP8 ": return (le(26, 2) & 0x3FFF, le(28, 2) & 0x3FFF)
    case "VP8X": return (le(24, 3) + 1, le(27, 3) + 1)
    case "VP8L":
      let bits = le(21, 4)
      return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    default: return nil
    }
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }

  /// A PNG whose header claims `width` × `height` pixels and carries almost no data: what a
  /// decompression bomb looks like before it is decoded.
  static func pngClaiming(width: UInt32, height: UInt32) -> [UInt8] {
    func be(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
      let body = Array(type.utf8) + data
      return be(UInt32(data.count)) + body + be(crc32(body))
    }
    let header = be(width) + be(height) + [8, 2, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
      + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + chunk("IEND", [])
  }

  @Test func makesASmallWebPThatFitsTheBox() throws {
    #expect(Thumbnailer.unavailableReason == nil, "libvips42 is needed")
    let png = try Self.examplePNG()
    let webp = try Thumbnailer(width: 480, height: 360).thumbnail(of: png, subject: "example.png")
    let (width, height) = try #require(Self.webpSize(webp))
    #expect(width <= 480 && height <= 360)
    #expect(width == 480 || height == 360, "\(width)x\(height): shrunk to fit, not further")
    #expect(webp.count < png.count / 4, "\(webp.count) bytes from \(png.count)")
  }

  @Test func neverEnlarges() throws {
    let tiny = try Thumbnailer(width: 480, height: 360).thumbnail(of: try Self.examplePNG(), subject: "a")
    let again = try Thumbnailer(width: 4000, height: 4000).thumbnail(of: tiny, subject: "thumbnail")
    #expect(Self.webpSize(again)?.0 == Self.webpSize(tiny)?.0)
  }

  @Test func refusesAHugeCanvasBeforeDecodingIt() throws {
    let bomb = Self.pngClaiming(width: 60_000, height: 60_000)
    #expect(throws: ImageError.self) { try Thumbnailer().thumbnail(of: bomb, subject: "bomb.png") }
    do {
      _ = try Thumbnailer().thumbnail(of: bomb, subject: "bomb.png")
    } catch {
      #expect(error.description.contains("60000x60000"), "\(error)")
      #expect(error.description.contains("bomb.png"))
    }
    let wide = Self.pngClaiming(width: 20_000, height: 10)
    #expect(throws: ImageError.self) { try Thumbnailer().thumbnail(of: wide, subject: "wide.png") }
    let limits = Thumbnailer.Limits(maximumBytes: 100, maximumSide: 100, maximumPixels: 100)
    #expect(throws: ImageError.self) {
      try Thumbnailer(limits: limits).thumbnail(of: try Self.examplePNG(), subject: "big")
    }
  }

  @Test func markupAndDamagedImagesAreRefusedNotCrashedOn() throws {
    let svg = Array(
      #"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#.utf8)
    #expect(throws: ImageError.self) { try Thumbnailer().thumbnail(of: svg, subject: "diagram.svg") }
    let png = try Self.examplePNG()
    // A cut-off PNG: libvips may refuse it or show the rows it has; either way, no crash.
    let truncated = Array(png.prefix(png.count / 3))
    if let partial = try? Thumbnailer().thumbnail(of: truncated, subject: "cut.png") {
      #expect(Self.webpSize(partial) != nil)
    }
    var noise = SeededGenerator(seed: 7)
    for length in [0, 1, 16, 4096] {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &noise) }
      #expect(throws: ImageError.self) { try Thumbnailer().thumbnail(of: bytes, subject: "noise") }
    }
  }
}
