import ArtifactsCore
import ArtifactsTestSupport
import Foundation
import GRDB
import Testing

@testable import ArtifactsCatalog

struct CatalogTests {
  let container = FakeID.container(9)

  func citation(_ file: Int, _ name: String, response: Int, line: Int, annotation: Int = 0, text: String? = nil)
    -> Citation
  {
    Citation(
      file: ContainerFileRef(containerID: container, fileID: FakeID.file(file)), filename: name, startIndex: 1,
      endIndex: 5, citedText: text,
      response: ResponseInfo(id: FakeID.response(response), createdAt: 1_700_000_000 + Int64(response), model: "gpt-5"),
      itemID: "msg_\(response)", outputIndex: 1, contentIndex: 0, annotationIndex: annotation,
      location: LogLocation(path: "/logs/a.jsonl", line: line))
  }

  func contribution(_ citations: [Citation]) -> LogContribution {
    LogContribution(path: "/logs/a.jsonl", format: .jsonLines, citations: citations, sightings: [], responses: [])
  }

  @Test func recordingTheSameLogTwiceAddsNothing() throws {
    let catalog = try Catalog(inMemory: ())
    let citations = [
      citation(1, "chart.png", response: 1, line: 1), citation(2, "data.csv", response: 1, line: 1, annotation: 1),
    ]
    let first = try catalog.record(contribution(citations))
    let second = try catalog.record(contribution(citations))
    #expect(first == RecordOutcome(newFiles: 2, newCitations: 2, citedFiles: [1, 2]))
    #expect(second == RecordOutcome(newFiles: 0, newCitations: 0, citedFiles: [1, 2]))
    #expect(try catalog.pendingWork().count == 2)
    #expect(try catalog.pendingCount() == 2)
  }

  /// More rows than one statement takes, repeats inside a recording and across two: each
  /// citation, file and response is counted and stored once, in whichever statement it lands.
  @Test func aRecordingOfManyStatementsCountsEachRowOnce() throws {
    let catalog = try Catalog(inMemory: ())
    let count = Catalog.rowsPerInsert * 2 + 7
    // Two citations per response; every fifth citation is there twice, the copy with its text.
    var citations: [Citation] = []
    for file in 1...count {
      citations.append(citation(file, "f\(file).csv", response: (file + 1) / 2, line: file))
      if file % 5 == 0 {
        citations.append(citation(file, "f\(file).csv", response: (file + 1) / 2, line: file, text: "t\(file)"))
      }
    }
    let first = try catalog.record(contribution(citations))
    #expect(first.newFiles == count && first.newCitations == count)
    #expect(first.citedFiles == Array(1...Int64(count)))
    // Again, with as many new ones after the old: only the new ones count.
    let more = (count + 1...count * 2).map { citation($0, "f\($0).csv", response: ($0 + 1) / 2, line: $0) }
    let second = try catalog.record(contribution(citations + more))
    #expect(second.newFiles == count && second.newCitations == count)
    #expect(second.citedFiles == Array(1...Int64(count * 2)))
    let found = try catalog.find(FindQuery(states: [.pending], limit: nil))
    #expect(found.count == count * 2)
    #expect(found.allSatisfy { $0.citations.count == 1 })
    let texts = Dictionary(uniqueKeysWithValues: found.map { ($0.filename, $0.citations[0].citedText) })
    #expect(texts["f5.csv"] == "t5" && texts["f6.csv"] == .some(nil) && texts["f\(count * 2).csv"] == .some(nil))
    #expect(try catalog.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM response") } == count)
  }

  /// Sightings go in statements of many rows after the responses and containers they name,
  /// which may be named by nothing else: each distinct sighting is one row, however often the
  /// log repeats it and however many statements it takes.
  @Test func sightingsOfManyStatementsAreEachStoredOnceWithWhatTheyName() throws {
    let catalog = try Catalog(inMemory: ())
    let count = Catalog.rowsPerInsert * 2 + 7
    var sightings: [ContainerSighting] = []
    for index in 1...count {
      let sighting = ContainerSighting(
        containerID: FakeID.container(1000 + index), callID: "ci_\(index)",
        response: ResponseInfo(id: FakeID.response(index), createdAt: 1_700_000_000, model: "gpt-5"),
        location: LogLocation(path: "/logs/s.jsonl", line: index))
      sightings.append(sighting)
      if index % 3 == 0 { sightings.append(sighting) }
    }
    let log = LogContribution(
      path: "/logs/s.jsonl", format: .jsonLines, citations: [], sightings: sightings, responses: [])
    func rows(_ table: String) throws -> Int {
      try catalog.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") } ?? -1
    }
    _ = try catalog.record(log)
    #expect(try rows("container_sighting") == count)
    #expect(try rows("container") == count)
    #expect(try rows("response") == count)
    _ = try catalog.record(log)
    #expect(try rows("container_sighting") == count)
    let last = try catalog.read { db in
      try Row.fetchOne(
        db, sql: "SELECT container_id, call_id, response_id, line FROM container_sighting ORDER BY line DESC LIMIT 1")
    }
    #expect(last?[0] == FakeID.container(1000 + count))
    #expect(last?[1] == "ci_\(count)")
    #expect(last?[2] == FakeID.response(count))
    #expect(last?[3] == count)
  }

  @Test func laterCopyFillsInTheCitedText() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(contribution([citation(1, "a.csv", response: 1, line: 3)]))
    _ = try catalog.record(contribution([citation(1, "a.csv", response: 1, line: 9, text: "sandbox:/mnt/data/a.csv")]))
    let found = try catalog.find(FindQuery(states: [.pending]))
    #expect(found.first?.citations.map(\.citedText) == ["sandbox:/mnt/data/a.csv"])
  }

  @Test func archivingIsTheCommitPointAndFindSeesIt() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(
      contribution([citation(1, "Chart.PNG", response: 1, line: 1), citation(2, "notes.txt", response: 2, line: 2)]))
    let work = try catalog.pendingWork()
    let digest = Digest(hex: String(repeating: "ab", count: 32))!
    try catalog.markArchived(work[0], digest: digest, size: 10, mediaType: "image/png", attempts: 1)
    try catalog.markUnarchived(work[1], state: .lost, reason: UnarchivedReason(.fileNotFound, "HTTP 404"), attempts: 1)
    #expect(try catalog.pendingWork().isEmpty)
    #expect(try catalog.find(FindQuery(pattern: .substring("chart"))).map(\.filename) == ["Chart.PNG"])
    #expect(try catalog.find(FindQuery(pattern: .substring("chart.png"))).count == 1)  // smart case: lower-case ignores case
    #expect(try catalog.find(FindQuery(pattern: .substring("chart.PNG"))).isEmpty)  // upper-case letter: exact case
    #expect(try catalog.find(FindQuery(pattern: .substring("Ch"))).count == 1)  // shorter than a trigram
    #expect(try catalog.find(FindQuery(pattern: .substring("notes"))).isEmpty)  // lost, not archived
    #expect(try catalog.find(FindQuery(pattern: .substring("notes"), states: [.lost])).first?.lastError == "HTTP 404")
    #expect(try catalog.stateCounts() == [.archived: 1, .lost: 1])
  }

  @Test func theQueueIsReadAPageAtATimeInRowOrderPendingAndFailedTogether() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(
      contribution((1...7).map { citation($0, "f\($0).csv", response: $0, line: $0) }))
    let all = try catalog.pendingWork().sorted { $0.rowID < $1.rowID }
    // One archived, one failed (still waiting), one lost (not).
    try catalog.markArchived(
      all[1], digest: Digest(hex: String(repeating: "a", count: 64))!, size: 1, mediaType: "text/plain", attempts: 1)
    try catalog.markUnarchived(all[2], state: .failed, reason: UnarchivedReason(.transport, "reset"), attempts: 1)
    try catalog.markUnarchived(all[3], state: .lost, reason: UnarchivedReason(.fileNotFound, "gone"), attempts: 1)
    var pages: [[Int64]] = []
    var after: Int64 = 0
    while true {
      let page = try catalog.pendingWork(after: after, limit: 2)
      guard let last = page.last else { break }
      pages.append(page.map(\.rowID))
      after = last.rowID
    }
    let waiting = [0, 2, 4, 5, 6].map { all[$0].rowID }
    #expect(pages == [Array(waiting[0..<2]), Array(waiting[2..<4]), [waiting[4]]])
    #expect(try catalog.pendingCount() == 5)
    #expect(try catalog.archivedCount(among: all.map(\.rowID)) == 1)
  }

  @Test func patternPunctuationIsPlainText() throws {
    let catalog = try Catalog(inMemory: ())
    _ = try catalog.record(
      contribution([
        citation(1, "my-file (1).csv", response: 1, line: 1),
        citation(2, "100%_done.txt", response: 1, line: 1, annotation: 1),
        citation(3, "say \"hi\".md", response: 1, line: 1, annotation: 2),
      ]))
    for (index, item) in try catalog.pendingWork().enumerated() {
      try catalog.markArchived(
        item, digest: Digest(hex: String(repeating: "\(index)", count: 64))!, size: 1, mediaType: "text/plain",
        attempts: 1)
    }
    #expect(try catalog.find(FindQuery(pattern: .substring("(1)"))).map(\.filename) == ["my-file (1).csv"])
    #expect(try catalog.find(FindQuery(pattern: .substring("%_"))).map(\.filename) == ["100%_done.txt"])
    #expect(try catalog.find(FindQuery(pattern: .substring("\"hi\""))).map(\.filename) == ["say \"hi\".md"])
  }

  @Test func onDiskCatalogIsPrivateAndMigrated() throws {
    let directory = TemporaryDirectory()
    let path = directory.file("catalog.sqlite")
    let catalog = try Catalog(path: path)
    #expect(
      try catalog.appliedMigrations() == [
        "v001_initial", "v002_incremental_scan", "v003_verification", "v004_name_trigrams", "v005_leases",
        "v006_produced_at", "v007_fewer_writes_per_file", "v008_produced_at_as_recorded",
        "v009_blobs_by_size",
      ])
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
  }

  /// A new file is recorded with its production time already right, so its citations'
  /// trigger writes nothing more (v008); a later response citing it again moves it once.
  @Test func recordingANewFileWritesItsProductionTimeOnce() throws {
    let catalog = try Catalog(inMemory: ())
    try catalog.write { db in
      try db.execute(
        sql: """
          CREATE TEMP TABLE produced_at_writes (file INTEGER);
          CREATE TEMP TRIGGER count_produced_at_writes AFTER UPDATE OF produced_at ON main.container_file
          BEGIN INSERT INTO produced_at_writes VALUES (NEW.id); END;
          """)
    }
    func writes() throws -> Int {
      try catalog.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.produced_at_writes") ?? 0 }
    }
    // Two files, one cited by two responses in the same recording: the later one decides.
    _ = try catalog.record(
      contribution([
        citation(1, "a.png", response: 3, line: 1), citation(2, "b.csv", response: 4, line: 2),
        citation(1, "a.png", response: 5, line: 3),
      ]))
    #expect(try writes() == 1, "only the second citation of a.png moves its time")
    let times = try catalog.read { db in
      try Int64.fetchAll(db, sql: "SELECT produced_at FROM container_file ORDER BY file_id")
    }
    #expect(times == [1_700_000_005, 1_700_000_004])
    // Cited again by a later response in another recording: the trigger moves it.
    _ = try catalog.record(contribution([citation(2, "b.csv", response: 9, line: 4)]))
    #expect(try writes() == 2)
    #expect(
      try catalog.read { db in
        try Int64.fetchOne(
          db, sql: "SELECT produced_at FROM container_file WHERE file_id = ?", arguments: [FakeID.file(2)])
      } == 1_700_000_009)
  }
}

struct FindSelectionTests {
  /// Five archived files from two containers, cited by responses of two models on two days.
  func catalog() throws -> Catalog {
    let catalog = try Catalog(inMemory: ())
    let specs:
      [(file: Int, name: String, container: Int, response: Int, model: String, day: Int64, size: Int64, type: String)] =
        [
          (1, "sales_chart.png", 1, 1, "gpt-5-2025-08-07", 0, 5000, "image/png"),
          (2, "sales.csv", 1, 1, "gpt-5-2025-08-07", 0, 100, "text/csv"),
          (3, "Résumé.PDF", 2, 2, "gpt-4o-mini-2024-07-18", 2, 900, "application/pdf"),
          (4, "chart_v2.png", 2, 2, "gpt-4o-mini-2024-07-18", 2, 7000, "image/png"),
          (5, "notes.txt", 2, 3, "gpt-5-2025-08-07", 5, 10, "text/plain"),
        ]
    for spec in specs {
      let citation = Citation(
        file: ContainerFileRef(containerID: FakeID.container(spec.container), fileID: FakeID.file(spec.file)),
        filename: spec.name, startIndex: 0, endIndex: 0, citedText: nil,
        response: ResponseInfo(
          id: FakeID.response(spec.response), createdAt: 1_764_000_000 + spec.day * 86400, model: spec.model),
        itemID: "msg_\(spec.file)", outputIndex: 0, contentIndex: 0, annotationIndex: spec.file,
        location: LogLocation(path: "/l", line: spec.file))
      _ = try catalog.record(
        LogContribution(path: "/l", format: .jsonLines, citations: [citation], sightings: [], responses: []))
      let item = try #require(try catalog.pendingWork().first { $0.file.fileID == FakeID.file(spec.file) })
      try catalog.markArchived(
        item, digest: Digest(hex: String(format: "%064x", spec.file))!, size: spec.size, mediaType: spec.type,
        attempts: 1)
    }
    return catalog
  }

  func names(_ catalog: Catalog, _ query: FindQuery) throws -> [String] {
    try catalog.find(query).map(\.filename)
  }

  @Test func globMatchesTheWholeNameAndRegexAnyPart() throws {
    let catalog = try catalog()
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("*.png"))) == ["chart_v2.png", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("sales*"))) == ["sales.csv", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("chart?v2.png"))) == ["chart_v2.png"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("[cn]*"))) == ["chart_v2.png", "notes.txt"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("chart"))) == ["chart_v2.png", "sales_chart.png"])
    #expect(
      try names(catalog, FindQuery(pattern: FindQuery.pattern("^s.*\\.(csv|png)$", regex: true))) == [
        "sales.csv", "sales_chart.png",
      ])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("sales.csv", exact: true))) == ["sales.csv"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("sales", exact: true))).isEmpty)
  }

  @Test func smartCaseAppliesToEveryKindOfPattern() throws {
    let catalog = try catalog()
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("résumé"))) == ["Résumé.PDF"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("*.pdf"))) == ["Résumé.PDF"])
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("*.Pdf"))).isEmpty)
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("SALES"))).isEmpty)
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("RÉSUMÉ.pdf", exact: true))).isEmpty)
  }

  @Test func provenanceFilters() throws {
    let catalog = try catalog()
    #expect(try names(catalog, FindQuery(containerID: FakeID.container(1))) == ["sales.csv", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(responseID: FakeID.response(3))) == ["notes.txt"])
    #expect(try names(catalog, FindQuery(model: "gpt-4o-mini")) == ["chart_v2.png", "Résumé.PDF"])
    #expect(try names(catalog, FindQuery(model: "gpt-5")) == ["notes.txt", "sales.csv", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(since: 1_764_000_000 + 86400)) == ["chart_v2.png", "notes.txt", "Résumé.PDF"])
    #expect(try names(catalog, FindQuery(until: 1_764_000_000 + 86400)) == ["sales.csv", "sales_chart.png"])
    #expect(
      try names(catalog, FindQuery(extensions: ["png", "txt"])) == ["chart_v2.png", "notes.txt", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(mediaType: "image")) == ["chart_v2.png", "sales_chart.png"])
    #expect(try names(catalog, FindQuery(mediaType: "text/csv")) == ["sales.csv"])
  }

  @Test func sortsAndLimits() throws {
    let catalog = try catalog()
    #expect(
      try names(catalog, FindQuery(sort: .size)) == [
        "chart_v2.png", "sales_chart.png", "Résumé.PDF", "sales.csv", "notes.txt",
      ])
    #expect(try names(catalog, FindQuery(sort: .newest, limit: 1)) == ["notes.txt"])
    // Oldest first is newest first reversed, ties too (the two sales files share a response).
    #expect(try names(catalog, FindQuery(sort: .oldest, limit: 2)) == ["sales_chart.png", "sales.csv"])
    #expect(try names(catalog, FindQuery(sort: .oldest)) == (try names(catalog, FindQuery(sort: .newest))).reversed())
    // A page of a pattern in produced order is the start of the whole list in that order,
    // whether the names come from the trigram index or from walking that order.
    for sort in [FindQuery.Sort.newest, .oldest] {
      for pattern in ["*.png", "*s*", "s", "sales_"] {
        let all = try names(catalog, FindQuery(pattern: FindQuery.pattern(pattern), sort: sort))
        #expect(!all.isEmpty)
        #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern(pattern), sort: sort, limit: 1)) == [all[0]])
      }
    }
    #expect(try names(catalog, FindQuery(pattern: FindQuery.pattern("s", regex: true), limit: 2)).count == 2)
  }

  /// A page of the newest or the oldest files is read off the index on produced_at, walked
  /// one way or the other, and a page of the largest off the index on blob sizes: never found
  /// by sorting every file (ties of one size are sorted, the rest of the order).
  @Test func newestOldestAndLargestPagesWalkAnIndex() throws {
    let catalog = try catalog()
    let indexes: [(FindQuery.Sort, String)] = [
      (.newest, "container_file_by_produced_at"), (.oldest, "container_file_by_produced_at"), (.size, "blob_by_size"),
    ]
    for (sort, index) in indexes {
      let plan = try catalog.read { db in
        let (sql, arguments) = try Catalog.selection(FindQuery(sort: sort, limit: 20), db)
        return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql + " LIMIT 20", arguments: arguments)
          .map { $0["detail"] as String }.joined(separator: "; ")
      }
      #expect(plan.contains(index) && !plan.contains("TEMP B-TREE FOR ORDER BY"), "\(sort): \(plan)")
    }
    // The walk lists what the sort listed.
    let all = try names(catalog, FindQuery(sort: .size))
    for limit in 1...all.count {
      #expect(try names(catalog, FindQuery(sort: .size, limit: limit)) == Array(all.prefix(limit)))
    }
  }

  /// A file is produced when its latest citing response was made; archiving it does not move
  /// that. One no response with a time cites (listed, or cited by a response without
  /// `created_at`) is produced when it was archived, and again when archived anew.
  @Test func archivingSetsProducedAtOnlyWhereNoResponseDates() throws {
    let catalog = try catalog()
    func producedAt(_ file: Int) throws -> Int64? {
      try catalog.read { db in
        try Int64.fetchOne(
          db, sql: "SELECT produced_at FROM container_file WHERE file_id = ?", arguments: [FakeID.file(file)])
      }
    }
    #expect(try producedAt(5) == 1_764_000_000 + 5 * 86400, "the response's time, not the archiving's")
    let undated = Citation(
      file: ContainerFileRef(containerID: FakeID.container(3), fileID: FakeID.file(7)), filename: "undated.txt",
      startIndex: 0, endIndex: 0, citedText: nil, response: ResponseInfo(id: FakeID.response(7), createdAt: nil),
      itemID: "msg_7", outputIndex: 0, contentIndex: 0, annotationIndex: 0, location: LogLocation(path: "/l", line: 7))
    _ = try catalog.record(
      LogContribution(path: "/l", format: .jsonLines, citations: [undated], sightings: [], responses: []))
    _ = try catalog.addUncitedFiles(containerID: FakeID.container(3), files: [(FakeID.file(8), "/mnt/data/listed.csv")])
    #expect(try producedAt(7) == 0)
    #expect(try producedAt(8) == 0)
    let archivedAt = Date(timeIntervalSince1970: 1_765_000_000)
    for item in try catalog.pendingWork() {
      try catalog.markArchived(
        [
          Archiving(
            item: item, digest: Digest(hex: String(format: "%064x", 100 + item.rowID))!, size: 1,
            mediaType: "text/plain", attempts: 1)
        ], now: archivedAt)
    }
    #expect(try producedAt(7) == 1_765_000_000)
    #expect(try producedAt(8) == 1_765_000_000)
    #expect(try producedAt(5) == 1_764_000_000 + 5 * 86400)
    try catalog.write { db in
      try db.execute(
        sql: "UPDATE container_file SET archived_at = '2026-01-01T00:00:00.000Z' WHERE file_id IN (?, ?)",
        arguments: [FakeID.file(5), FakeID.file(8)])
    }
    #expect(try producedAt(8) == 1_767_225_600, "archived anew")
    #expect(try producedAt(5) == 1_764_000_000 + 5 * 86400)
    #expect(try names(catalog, FindQuery(sort: .newest, limit: 2)) == ["listed.csv", "undated.txt"])
  }

  /// `produced_at`, kept by triggers (v006, v007), always equals its definition: the latest
  /// time of a citing response, else the archiving's, else 0. Through recordings of
  /// responses with and without their time (a later copy brings it), repeats, several
  /// citations of a file in one recording, and files archived before they are cited again.
  @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
  func producedAtAlwaysMatchesItsDefinition(seed: UInt64) throws {
    let catalog = try Catalog(inMemory: ())
    var random = SeededGenerator(seed: seed)
    for round in 1...30 {
      var citations: [Citation] = []
      for _ in 0..<Int.random(in: 1...12, using: &random) {
        let file = Int.random(in: 1...15, using: &random)
        let response = Int.random(in: 1...25, using: &random)
        // A response's time is its own; a copy of it in a log may lack it.
        let time: Int64? =
          Int.random(in: 0..<5, using: &random) < 3 ? 1_700_000_000 + Int64(response * 7919 % 1000) : nil
        citations.append(
          Citation(
            file: ContainerFileRef(containerID: FakeID.container(9), fileID: FakeID.file(file)),
            filename: "f\(file).csv",
            startIndex: 0, endIndex: 0, citedText: nil,
            response: ResponseInfo(id: FakeID.response(response), createdAt: time), itemID: "msg_\(response)",
            outputIndex: 0, contentIndex: 0, annotationIndex: Int.random(in: 0...2, using: &random),
            location: LogLocation(path: "/logs/r.jsonl", line: round)))
      }
      _ = try catalog.record(
        LogContribution(path: "/logs/r.jsonl", format: .jsonLines, citations: citations, sightings: [], responses: []))
      if let item = try catalog.pendingWork().randomElement(using: &random), Bool.random(using: &random) {
        try catalog.markArchived(
          [
            Archiving(
              item: item, digest: Digest(hex: String(format: "%064x", item.rowID))!, size: 1, mediaType: "text/csv",
              attempts: 1)
          ], now: Date(timeIntervalSince1970: 1_700_000_000 + Double(Int.random(in: 0...2000, using: &random))))
      }
      let wrong = try catalog.read { db in
        try String.fetchAll(
          db,
          sql: """
            SELECT f.file_id || ' ' || f.produced_at FROM container_file f
            WHERE f.produced_at IS NOT coalesce(
              (SELECT max(r.created_at) FROM citation c JOIN response r ON r.id = c.response_id
               WHERE c.container_file_id = f.id),
              CAST(strftime('%s', f.archived_at) AS INTEGER), 0)
            """)
      }
      #expect(wrong.isEmpty, "round \(round)")
    }
  }

  /// A list handed over as it is read is the list `find` returns: every page of it, with a
  /// regular expression checked row by row or a pattern SQL applies, and it stops when told.
  @Test func streamedPathsAreWhatFindReturns() throws {
    let catalog = try catalog()
    let patterns: [FindQuery.Pattern?] = [nil, FindQuery.pattern("s.*[ct]", regex: true), FindQuery.pattern("chart")]
    for pattern in patterns {
      for (offset, limit) in [(0, nil), (0, 1), (1, 2), (2, nil), (9, nil)] as [(Int, Int?)] {
        var query = FindQuery(pattern: pattern, sort: .newest, limit: limit)
        query.offset = offset
        query.detail = .paths
        let listed = try catalog.find(query)
        var streamed: [FoundFile] = []
        try catalog.forEachFound(query) {
          streamed.append($0)
          return true
        }
        #expect(
          streamed == listed, "\(String(describing: pattern)) offset \(offset) limit \(String(describing: limit))")
        var first: [FoundFile] = []
        try catalog.forEachFound(query) {
          first.append($0)
          return false
        }
        #expect(first == Array(listed.prefix(1)))
      }
    }
    // The regular expression's list is a real one: three of the five names.
    #expect(
      try catalog.find(FindQuery(pattern: FindQuery.pattern("s.*[ct]", regex: true))).map(\.filename).sorted() == [
        "notes.txt", "sales.csv", "sales_chart.png",
      ])
  }

  @Test func pathsDetailLeavesOutBlobsAndCitations() throws {
    let catalog = try catalog()
    var query = FindQuery(sort: .newest)
    let full = try catalog.find(query)
    query.detail = .paths
    let paths = try catalog.find(query)
    #expect(paths.map(\.filename) == full.map(\.filename))
    #expect(paths.map(\.digest) == full.map(\.digest))
    #expect(
      paths.map { "\($0.rowID) \($0.containerID) \($0.fileID) \($0.state)" }
        == full.map { "\($0.rowID) \($0.containerID) \($0.fileID) \($0.state)" })
    #expect(paths.allSatisfy { $0.citations.isEmpty && $0.size == nil })
    #expect(full.allSatisfy { !$0.citations.isEmpty && $0.size != nil })
    // Nor the columns a path does not need.
    #expect(paths.allSatisfy { $0.source.isEmpty && $0.firstSeenAt.isEmpty && $0.archivedAt == nil })
    #expect(full.allSatisfy { !$0.source.isEmpty && !$0.firstSeenAt.isEmpty && $0.archivedAt != nil })
    query.sort = .size  // sorting by size still reads the sizes
    #expect(try catalog.find(query).map(\.filename) == (try names(catalog, FindQuery(sort: .size))))
  }

  @Test func lookupByIdDigestPrefixOrName() throws {
    let catalog = try catalog()
    #expect(try catalog.lookup(FakeID.file(4)).map(\.filename) == ["chart_v2.png"])
    #expect(try catalog.lookup(String(format: "%064x", 5)).map(\.filename) == ["notes.txt"])
    #expect(try catalog.lookup(String(repeating: "0", count: 62)).count == 5)  // a prefix all share
    #expect(try catalog.lookup("sales.csv").map(\.fileID) == [FakeID.file(2)])
    #expect(try catalog.lookup("nothing").isEmpty)
  }
}
