import ArtifactsCore
import ArtifactsTestSupport
import Foundation
import GRDB
import Testing

@testable import ArtifactsCatalog

struct IndexSearchTests {
  /// Archived files with the given names, in one container.
  func catalog(_ names: [String]) throws -> Catalog {
    let catalog = try Catalog(inMemory: ())
    let citations = names.enumerated().map { index, name in
      Citation(
        file: ContainerFileRef(containerID: FakeID.container(1), fileID: FakeID.file(index)), filename: name,
        startIndex: 0, endIndex: 0, citedText: nil,
        response: ResponseInfo(id: FakeID.response(1), createdAt: 1_764_000_000, model: "gpt-5"), itemID: "msg_1",
        outputIndex: 0, contentIndex: 0, annotationIndex: index, location: LogLocation(path: "/l", line: 1))
    }
    _ = try catalog.record(
      LogContribution(path: "/l", format: .jsonLines, citations: citations, sightings: [], responses: []))
    for (index, item) in try catalog.pendingWork().enumerated() {
      try catalog.markArchived(
        item, digest: Digest(hex: String(format: "%064x", index + 1))!, size: 1, mediaType: "text/plain", attempts: 1)
    }
    return catalog
  }

  func names(_ catalog: Catalog, _ pattern: String) throws -> [String] {
    try catalog.find(FindQuery(pattern: FindQuery.pattern(pattern))).map(\.filename)
  }

  /// Many forecasts, few with 4242: the common trigrams are left out, and names that hold
  /// the rare ones in another order are dropped by the name check.
  @Test func asksForTheRarestTrigramsAndChecksTheName() throws {
    let catalog = try catalog(
      (0..<40).map { "forecast_\($0).csv" } + [
        "forecast_4242.csv", "FORECAST_4242.PNG", "4242_forecast.txt", "forecast 4242.md", "old_forecast_42424.csv",
      ])
    let search = try catalog.read { db in try IndexSearch("forecast_4242", db) }
    #expect(search?.isPartial == true)
    #expect(search?.match.contains("\"424\"") == true)
    #expect(search?.match.contains("\"for\"") == false, "a trigram in every name is not worth reading")
    #expect(
      try names(catalog, "forecast_4242")
        == ["FORECAST_4242.PNG", "forecast_4242.csv", "old_forecast_42424.csv"]
        .sorted { $0.lowercased() < $1.lowercased() })
    #expect(try names(catalog, "Forecast_4242").isEmpty, "an upper-case letter asks for exact case")
    #expect(try names(catalog, "FORECAST_4242") == ["FORECAST_4242.PNG"])
    #expect(try names(catalog, "forecast_4242*") == ["forecast_4242.csv", "FORECAST_4242.PNG"])
    #expect(try names(catalog, "zzz_4242").isEmpty, "a trigram no name has")
  }

  /// Where every trigram is asked for, the phrase is exact and needs no check.
  @Test func aPatternWhoseTrigramsAreAllRareIsAskedAsAPhrase() throws {
    let catalog = try catalog(["chart.png", "data.csv"])
    let search = try catalog.read { db in try IndexSearch("chart", db) }
    #expect(search?.isPartial == false)
    #expect(search?.match == "\"chart\"")
    #expect(try catalog.read { db in try IndexSearch("ch", db) } == nil)
  }

  /// Letters outside ASCII have no count; the folding check agrees with the index.
  @Test func nonASCIINamesMatchWhateverTheCase() throws {
    let catalog = try catalog(
      (0..<20).map { "résumé_\($0).pdf" } + ["RÉSUMÉ_final.PDF", "Résumé_final.pdf", "resume_final.pdf"])
    #expect(try names(catalog, "résumé_final") == ["RÉSUMÉ_final.PDF", "Résumé_final.pdf"])
    #expect(try names(catalog, "ÉSUMÉ_final") == ["RÉSUMÉ_final.PDF"])
    #expect(NameFolding.contains("Été.CSV", "été.csv"))
    #expect(!NameFolding.contains("e\u{301}te.csv", "été"), "code points, as the index: no normalisation")
    #expect(NameFolding.contains("anything", ""))
  }

  /// The counts follow every insert, rename and delete (triggers, also for sqlite3 users).
  @Test func trigramCountsFollowTheNames() throws {
    let catalog = try catalog(["chart.png", "Chart_2.png", "data.csv"])
    func count(_ trigram: String) throws -> Int {
      try catalog.read { db in
        try Int.fetchOne(db, sql: "SELECT files FROM name_trigram WHERE trigram = ?", arguments: [trigram]) ?? 0
      }
    }
    #expect(try count("cha") == 2)
    #expect(try count("png") == 2)
    #expect(try count("aaa") == 0)
    try catalog.write { db in
      try db.execute(sql: "UPDATE container_file SET filename = 'aaaa.png' WHERE filename = 'chart.png'")
    }
    #expect(try count("cha") == 1)
    #expect(try count("aaa") == 1, "counted once per name, however often it occurs")
    try catalog.write { db in
      try db.execute(sql: "DELETE FROM citation")
      try db.execute(sql: "DELETE FROM container_file WHERE filename = 'Chart_2.png'")
    }
    #expect(try count("cha") == 0)
    #expect(
      try catalog.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM name_trigram WHERE files <= 0") } == 0)
  }

  /// Recording, listing and importing count the names they insert once per batch (v007); the
  /// counts are what the v004 trigger's formula gives for every name, recomputed in SQL,
  /// whatever the case, the letters, a NUL, a repeated trigram or a file seen twice.
  @Test func batchedCountsEqualTheTriggersFormula() throws {
    let tricky = [
      "Chart.PNG", "chart.png", "aaaa.png", "ab", "Été_Résumé.csv", "ΑΒΓ_δεζ.txt", "nul\u{0}after.bin", "x", "data.csv",
    ]
    let catalog = try catalog(tricky + tricky.map { "copy of " + $0 })
    _ = try catalog.addUncitedFiles(
      containerID: FakeID.container(1),
      files: [(FakeID.file(900), "/mnt/data/Listed_Chart.png"), (FakeID.file(0), "/mnt/data/already_known.txt")])
    _ = try catalog.importFiles([
      ImportedFile(
        containerID: FakeID.container(2), fileID: FakeID.file(901), filename: "Imported_CHART.png", source: "cited",
        digest: Digest(hex: String(repeating: "ab", count: 32))!, size: 1, mediaType: "image/png", archivedAt: nil,
        citations: [])
    ])
    try catalog.read { db in
      let kept = try Row.fetchAll(db, sql: "SELECT trigram, files FROM name_trigram ORDER BY trigram")
      let formula = try Row.fetchAll(
        db,
        sql: """
          WITH RECURSIVE position(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < 200)
          SELECT trigram, count(*) AS files FROM (
            SELECT DISTINCT f.id, substr(lower(f.filename), p.n, 3) AS trigram
            FROM container_file f JOIN position p ON p.n <= length(f.filename) - 2)
          GROUP BY trigram ORDER BY trigram
          """)
      #expect(kept.count > 50)
      #expect(kept == formula)
    }
  }
}
