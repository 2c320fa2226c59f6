// Export and import through the built binary, read back by three independent tar readers.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct ExportEndToEndTests {
  let key = "sk-export-test"
  let binary = TestPaths.binary("artifacts")

  static let hostileNames = [
    "../../etc/passwd", "/etc/shadow", "new\nline.txt", String(repeating: "x", count: 296) + ".csv",
    "cafe\u{301}.csv", "", "chart.png", "Chart.png", "..", "evil\u{202E}gpj.exe",
  ]

  /// A store holding files with hostile names; two share their bytes, one file is cited twice.
  func makeStore() throws -> (TemporaryDirectory, TemporaryDirectory) {
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let container = FakeID.container(11)
    var files: [EmulatedFile] = []
    for (index, _) in Self.hostileNames.enumerated() {
      let bytes = index == 7 ? Array("same bytes as chart.png".utf8) : Array("content \(index)\n".utf8)
      files.append(EmulatedFile(id: FakeID.file(100 + index), path: "/mnt/data/f\(index)", bytes: bytes))
    }
    files[6].bytes = Array("same bytes as chart.png".utf8)
    emulator.addContainer(id: container, files: files)
    let logs = TemporaryDirectory("logs")
    let cited = Self.hostileNames.enumerated().map { (FakeID.file(100 + $0.offset), $0.element) }
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(1), container: container, files: Array(cited[0..<5]), createdAt: 1_764_000_000)
        + "\n"
        + responseLine(
          id: FakeID.response(2), container: container, files: Array(cited[5...]), createdAt: 1_764_086_400)
        + "\n"
        // The first file cited again by a later response: it appears in both response folders.
        + responseLine(id: FakeID.response(3), container: container, files: [cited[0]], createdAt: 1_764_172_800) + "\n"
    )
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--store", store.path, logs.path],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    return (store, logs)
  }

  func sha256(_ path: String) throws -> String {
    SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
  }

  /// Every file under `directory`, relative, with symbolic links reported as such.
  func tree(_ directory: String) throws -> [String] {
    try FileManager.default.subpathsOfDirectory(atPath: directory).sorted()
  }

  func checkExtraction(_ directory: String, against archive: String, reader: String) throws {
    let manifestData = try Data(contentsOf: URL(fileURLWithPath: directory + "/MANIFEST.json"))
    let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
    let entries = try #require(manifest["entries"] as? [[String: Any]])
    #expect(entries.count == Self.hostileNames.count + 1, "\(reader)")
    for entry in entries {
      let path = try #require(entry["path"] as? String)
      #expect(!path.hasPrefix("/") && !path.split(separator: "/").contains(".."), "\(reader): \(path)")
      for component in path.split(separator: "/") { #expect(component.utf8.count <= 255) }
      #expect(!path.unicodeScalars.contains { $0.properties.generalCategory == .control })
      #expect(try sha256(directory + "/" + path) == entry["sha256"] as? String, "\(reader): \(path)")
    }
    // Nothing but the manifest's entries (and their folders) was created, all inside.
    let expected = Set(entries.compactMap { $0["path"] as? String } + ["MANIFEST.json"])
    let files = try tree(directory).filter { !$0.hasSuffix("/") && !isDirectory(directory + "/" + $0) }
    #expect(Set(files) == expected, "\(reader)")
    #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
  }

  func isDirectory(_ path: String) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
  }

  @Test func exportsAreReadByGNUTarBsdtarAndPythonAndStayInside() throws {
    let (store, _) = try makeStore()
    let out = TemporaryDirectory("out")
    for archive in ["all.tar", "all.tar.gz"] {
      let export = try run(binary, ["export", "--store", store.path, out.file(archive)], environment: [:])
      #expect(export.status == 0, "\(export.stderr)")
      #expect(export.stderr.contains("exported 10 files (2 as hard links to the same content)"), "\(export.stderr)")
      let readers: [(String, URL, [String])] = [
        ("GNU tar", URL(fileURLWithPath: "/usr/bin/tar"), ["-xf", out.file(archive), "-C"]),
        ("bsdtar", URL(fileURLWithPath: "/usr/bin/bsdtar"), ["-xf", out.file(archive), "-C"]),
        (
          "python tarfile", URL(fileURLWithPath: "/usr/bin/env"),
          [
            "python3", "-c",
            "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')", out.file(archive),
          ]
        ),
      ]
      for (name, tool, arguments) in readers {
        let target = out.file("\(archive)-\(name.replacingOccurrences(of: " ", with: "-"))")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let result = try run(tool, arguments + [target], environment: [:])
        #expect(result.status == 0, "\(name) on \(archive): \(result.stderr)")
        try checkExtraction(target, against: archive, reader: "\(name) \(archive)")
      }
    }
  }

  @Test func theSameSelectionGivesTheSameBytes() throws {
    let (store, _) = try makeStore()
    let out = TemporaryDirectory("out")
    for name in ["a.tar", "b.tar", "a.tgz", "b.tgz"] {
      let result = try run(
        binary, ["export", "--store", store.path, out.file(name), "--layout", "by-container"], environment: [:])
      #expect(result.status == 0, "\(result.stderr)")
    }
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: out.file("a.tar")))
        == Data(contentsOf: URL(fileURLWithPath: out.file("b.tar"))))
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: out.file("a.tgz")))
        == Data(contentsOf: URL(fileURLWithPath: out.file("b.tgz"))))
    // And to standard output, the same bytes as to a file.
    let piped = try run(
      binary, ["export", "--store", store.path, "-", "--format", "tar", "--layout", "by-container"], environment: [:])
    #expect(Data(piped.stdout.utf8).count > 0)
  }

  @Test func selectionAndLayoutsAreHonoured() throws {
    let (store, _) = try makeStore()
    let out = TemporaryDirectory("out")
    let result = try run(
      binary, ["export", "--store", store.path, out.file("csv.tar"), "--ext", "csv", "--layout", "flat"],
      environment: [:])
    #expect(result.status == 0, "\(result.stderr)")
    let listing = try run(URL(fileURLWithPath: "/usr/bin/tar"), ["-tf", out.file("csv.tar")], environment: [:])
    #expect(listing.stdoutLines.first == "MANIFEST.json")
    #expect(listing.stdoutLines.dropFirst().allSatisfy { $0.hasSuffix(".csv") && !$0.contains("/") })
    #expect(listing.stdoutLines.count == 3)  // manifest, the long name, café
    let none = try run(
      binary, ["export", "--store", store.path, out.file("none.tar"), "zzz-nothing"], environment: [:])
    #expect(none.status == 1)
    #expect(!FileManager.default.fileExists(atPath: out.file("none.tar")))
    let bad = try run(binary, ["export", "--store", store.path, out.file("x.zip")], environment: [:])
    #expect(bad.status == 64)
  }

  @Test func importIntoAnEmptyStoreGivesTheSameRecords() throws {
    let (store, _) = try makeStore()
    let out = TemporaryDirectory("out")
    #expect(try run(binary, ["export", "--store", store.path, out.file("all.tgz")], environment: [:]).status == 0)
    let other = TemporaryDirectory("other")
    let imported = try run(binary, ["import", "--store", other.path, out.file("all.tgz")], environment: [:])
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stdout.contains("imported 10 files (10 new to this store); 9 new contents stored"))
    func records(_ store: TemporaryDirectory) throws -> [String] {
      let found = try run(binary, ["find", "--store", store.path, "--json"], environment: [:])
      return try found.stdoutLines.map { line in
        var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        object["path"] = nil
        object["first_seen_at"] = nil
        return String(
          decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
      }
    }
    let original = try records(store)
    #expect(original.count == 10)
    let copied = try records(other)
    #expect(copied == original, "\(zip(copied, original).first { $0.0 != $0.1 }.map { "\($0.0)\n\($0.1)" } ?? "")")
    // Importing again adds nothing.
    let again = try run(binary, ["import", "--store", other.path, out.file("all.tgz")], environment: [:])
    #expect(again.stdout.contains("(0 new to this store); 0 new contents stored"))
  }

  @Test func tamperedArchiveIsRefused() throws {
    let (store, _) = try makeStore()
    let out = TemporaryDirectory("out")
    #expect(
      try run(binary, ["export", "--store", store.path, out.file("all.tar"), "--layout", "flat"], environment: [:])
        .status == 0)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: out.file("all.tar")))
    let needle = Data("content 4\n".utf8)
    let range = try #require(bytes.range(of: needle))
    bytes[range.lowerBound] = UInt8(ascii: "C")
    try bytes.write(to: URL(fileURLWithPath: out.file("tampered.tar")))
    let other = TemporaryDirectory("other")
    let result = try run(binary, ["import", "--store", other.path, out.file("tampered.tar")], environment: [:])
    #expect(result.status == 1)
    #expect(result.stderr.contains("does not match its manifest digest"))
    let found = try run(binary, ["find", "--store", other.path], environment: [:])
    #expect(found.status == 1)  // nothing recorded
  }

  @Test func showAndCatFindOneFile() throws {
    let (store, _) = try makeStore()
    let show = try run(binary, ["show", "--store", store.path, FakeID.file(106)], environment: [:])
    #expect(show.status == 0)
    #expect(show.stdout.contains("chart.png"))
    #expect(show.stdout.contains(FakeID.response(2)))
    #expect(show.stdout.contains("sandbox:/mnt/data/chart.png"))
    let cat = try run(binary, ["cat", "--store", store.path, FakeID.file(106)], environment: [:])
    #expect(cat.stdout == "same bytes as chart.png")
    let digest = SHA256.hash(data: Data("same bytes as chart.png".utf8)).map { String(format: "%02x", $0) }.joined()
    let byPrefix = try run(binary, ["cat", "--store", store.path, String(digest.prefix(8))], environment: [:])
    #expect(byPrefix.stdout == "same bytes as chart.png")  // two files, one content: fine
    let missing = try run(binary, ["show", "--store", store.path, "cfile_nope"], environment: [:])
    #expect(missing.status == 1 && missing.stderr.contains("nothing in the store is called cfile_nope"))
  }
}
