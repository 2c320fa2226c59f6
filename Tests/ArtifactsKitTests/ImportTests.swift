// An archive handed to `import` is untrusted: whatever it holds, the answer is a summary or a
// message that says what is wrong in the archive's own terms, never a crash, and the store
// stays one `check` calls clean.
import ArtifactsCore
import ArtifactsExport
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

@testable import ArtifactsKit

/// Writes a tar with MANIFEST.json first, the way an export does, but with any manifest text.
func archive(manifest: String, members: [(String, [UInt8])], at path: String) throws {
  let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  defer { close(descriptor) }
  var tar = TarWriter(sink: DescriptorSink(descriptor: descriptor, name: path))
  try tar.file("MANIFEST.json", bytes: Array(manifest.utf8), modified: 0)
  for (name, bytes) in members { try tar.file(name, bytes: bytes, modified: 0) }
  try tar.finish()
}

func manifest(sha256: String, size: Int64, path: String = "a.csv", extra: String = "") -> String {
  #"{"format":"artifacts-export","version":1,"layout":"flat","entries":[{"path":"\#(path)","sha256":"\#(sha256)","size":\#(size),"media_type":"text/csv","container_id":"cntr_1","file_id":"cfile_1","filename":"a.csv","source":"cited","citations":[]\#(extra)}]}"#
}

@Suite(.timeLimit(.minutes(2)))
struct ImportTests {
  let bytes = Array("x,y\n1,2\n".utf8)
  var digest: Digest { Digest(bytes: SHA256Digest.of(bytes)) }

  func importing(_ write: (String) throws -> Void) async throws -> Result<ImportSummary, KitError> {
    let directory = TemporaryDirectory("import")
    let path = directory.file("in.tar")
    try write(path)
    let store = try ArtifactStore(root: directory.file("store"), access: .create)
    do {
      return .success(try await Import(store: store).run(archive: .file(path)))
    } catch {
      let report = try await Check(store: store).run(CheckOptions(readData: .all))
      #expect(report.isClean, "a refused import left damage: \(report)")
      return .failure(error)
    }
  }

  func message(_ result: Result<ImportSummary, KitError>) -> String {
    if case .failure(let error) = result { return error.message }
    return "imported: \(result)"
  }

  @Test func aManifestDigestThatIsNotHexIsAMessageNotACrash() async throws {
    // The member the entry names is not in the archive: the digest was once force-unwrapped.
    let result = try await importing {
      try archive(manifest: manifest(sha256: "not-hex!", size: 8), members: [], at: $0)
    }
    #expect(
      message(result).contains("entry 1 (a.csv): sha256 \"not-hex!\" is not a SHA-256 digest"), "\(message(result))")
  }

  @Test func sizesComeFromTheBytes() async throws {
    let result = try await importing {
      try archive(
        manifest: manifest(sha256: digest.hex, size: 1_000_000_000_000_000), members: [("a.csv", bytes)], at: $0)
    }
    #expect(message(result).contains("entry 1 (a.csv): the manifest says 1000000000000000 bytes, the archive holds 8"))
  }

  @Test func bytesThatDoNotMatchTheirDigestAreRefusedByName() async throws {
    let other = Digest(bytes: SHA256Digest.of([1, 2, 3]))
    let result = try await importing {
      try archive(manifest: manifest(sha256: other.hex, size: 8), members: [("a.csv", bytes)], at: $0)
    }
    #expect(message(result).contains("entry 1 (a.csv) does not match its manifest digest"))
  }

  @Test(arguments: [
    (
      #"{"format":"artifacts-export","version":1,"layout":"flat","entries":[{"path":"a"}]}"#,
      #"entry 1, field "sha256" is missing"#
    ),
    (
      #"{"format":"artifacts-export","version":1,"layout":"flat","entries":[{"path":"a","sha256":"0","size":"big","media_type":"t","container_id":"c","file_id":"f","filename":"a","source":"cited","citations":[]}]}"#,
      #"entry 1, field "size" has the wrong type; expected a number"#
    ),
    (
      #"{"format":"artifacts-export","version":1,"layout":"flat","entries":[{"path":"a","sha256":"0","size":1,"media_type":"t","container_id":"c","file_id":"f","filename":"a","source":"cited","citations":[{"key":7}]}]}"#,
      #"entry 1, citation 1, field "key" has the wrong type; expected text"#
    ),
    (#"{"format":"artifacts-export","version":9,"layout":"flat","entries":[]}"#, "version 9 is newer"),
    (#"{"format":"tarball"#, "not valid JSON"),
  ])
  func manifestErrorsAreSaidInTheManifestsTerms(text: String, expected: String) async throws {
    let result = try await importing { try archive(manifest: text, members: [], at: $0) }
    #expect(message(result).contains("MANIFEST.json: \(expected)"), "\(message(result))")
    #expect(!message(result).contains("DecodingError"))
  }

  @Test func theFuzzersSeedArchiveImportsWithItsLink() async throws {
    let seed = TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/fuzz-import/two-entries-one-link.tar")
    let result = try await importing { path in try FileManager.default.copyItem(atPath: seed.path, toPath: path) }
    guard case .success(let summary) = result else { Issue.record("\(result)"); return }
    #expect(summary.files == 2 && summary.added == 2 && summary.stored == 1)
  }

  @Test func aGoodArchiveImports() async throws {
    let result = try await importing {
      try archive(manifest: manifest(sha256: digest.hex, size: 8), members: [("a.csv", bytes)], at: $0)
    }
    guard case .success(let summary) = result else { Issue.record("\(result)"); return }
    #expect(summary.files == 1 && summary.added == 1 && summary.stored == 1 && summary.bytes == 8)
  }

  /// Seeded, bounded: bytes of a real export flipped, cut short, grown and spliced. Every
  /// mutant is either imported or refused with a message; the store stays clean.
  @Test func mutatedExportsNeverCrashAnImport() async throws {
    let world = try KitWorld()
    defer { world.emulator.stop() }
    world.cite(4)
    let source = try world.store()
    _ = try await Sync(store: source, sink: RecordingSink(), api: world.api()).run(
      SyncOptions(paths: [world.directory.file("logs")], pipeline: PipelineOptions(jobs: 2)))
    let exported = world.directory.file("good.tar")
    _ = try await Export(store: source).run(
      ExportOptions(query: FindQuery(), layout: .flat, destination: .file(exported)))
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: exported)))
    var generator = SeededGenerator(seed: 0xA57_1FAC7)
    var imported = 0
    var refused = 0
    for round in 0..<120 {
      var mutant = original
      switch round % 4 {
      case 0:
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
          mutant[Int.random(in: 0..<mutant.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
        }
      case 1:
        mutant = Array(mutant.prefix(Int.random(in: 0..<mutant.count, using: &generator)))
      case 2:
        // Inside the manifest's text, where the JSON and its claims live.
        let position = Int.random(in: 512..<min(2048, mutant.count), using: &generator)
        mutant[position] = Array("0\"{}[],:9-x".utf8).randomElement(using: &generator)!
      default:
        let from = Int.random(in: 0..<mutant.count, using: &generator)
        let length = Int.random(in: 1...1024, using: &generator)
        mutant.insert(
          contentsOf: original[from..<min(from + length, original.count)],
          at: Int.random(in: 0..<mutant.count, using: &generator))
      }
      let result = try await importing { path in try Data(mutant).write(to: URL(fileURLWithPath: path)) }
      switch result {
      case .success: imported += 1
      case .failure(let error):
        refused += 1
        #expect(error.code == .missingInput, "round \(round): \(error)")
        #expect(!error.message.contains("DecodingError"), "round \(round): \(error.message)")
      }
    }
    #expect(imported + refused == 120 && refused > 0)
  }
}

/// swift-crypto declares a `Digest` too; in these tests the name means the content digest.
typealias Digest = ArtifactsCore.Digest

enum SHA256Digest {
  static func of(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}
