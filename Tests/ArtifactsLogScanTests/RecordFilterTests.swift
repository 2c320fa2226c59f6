import ArtifactsTestSupport
import CByteSearch
import Foundation
import Testing

@testable import ArtifactsLogScan

/// The prefilter's vectorised search must answer exactly as a plain search would: a needle it
/// missed would be a citation never read.
struct RecordFilterTests {
  /// The first offset of `needle` at or after `from`, the slow way.
  private func naive(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    var start = from
    while start + needle.count <= haystack.count {
      if haystack[start..<start + needle.count].elementsEqual(needle) { return start }
      start += 1
    }
    return nil
  }

  /// Every block width this processor has (AVX2, SSE2, none), each against the slow way.
  static let widths = [0, 16, 32].filter { $0 <= byte_search_best_width() }

  @Test(arguments: [1, 2, 3] as [UInt64])
  func theSearchAgreesWithAPlainSearchEverywhere(seed: UInt64) {
    var random = SeededGenerator(seed: seed)
    // A small alphabet holding the needle's bytes makes near misses (first and last byte
    // right, middle wrong) common, and needles land at every offset of a block, across block
    // edges and in the last bytes, where the vector loop hands over to the tail.
    let alphabet = Array("container_ c_".utf8)
    let needles = [RecordFilter.container, Array("c_".utf8), Array("response.".utf8), Array("_container_".utf8)]
    for round in 0..<600 {
      let length = Int.random(in: 0...300, using: &random)
      var haystack = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
      let needle = needles[round % needles.count]
      if length >= needle.count, Bool.random(using: &random) {
        let at = Int.random(in: 0...(length - needle.count), using: &random)
        haystack.replaceSubrange(at..<at + needle.count, with: needle)
      }
      let expected = naive(needle, in: haystack, from: 0)
      for width in Self.widths {
        let found = haystack.withUnsafeBytes { bytes in
          needle.withUnsafeBytes { needleBytes in
            byte_search_width(bytes.baseAddress, bytes.count, needleBytes.baseAddress, needleBytes.count, Int32(width))
              .map { bytes.baseAddress!.distance(to: $0) }
          }
        }
        #expect(found == expected, "round \(round), width \(width): \(String(decoding: haystack, as: UTF8.self))")
      }
      // And the prefilter's own entry, from a point inside the buffer.
      let from = length == 0 ? 0 : Int.random(in: 0..<length, using: &random)
      let viaFilter = haystack.withUnsafeBytes { bytes in
        bytes.baseAddress.flatMap { RecordFilter.find(needle, in: $0, bytes.count, from: from) }
      }
      #expect(viaFilter == naive(needle, in: haystack, from: from), "round \(round) from \(from)")
    }
  }

  @Test func aNeedleInTheLastBytesOfALargeBufferIsFound() {
    for tail in 0..<40 {
      var haystack = [UInt8](repeating: UInt8(ascii: "c"), count: 4096 + tail)
      haystack.replaceSubrange((haystack.count - 10)..., with: RecordFilter.container)
      let found = haystack.withUnsafeBytes {
        RecordFilter.find(RecordFilter.container, in: $0.baseAddress!, $0.count, from: 0)
      }
      #expect(found == haystack.count - 10)
    }
  }
}
