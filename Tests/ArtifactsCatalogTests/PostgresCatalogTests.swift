// The PostgreSQL catalog against a real server (Debian's, started by TestPostgres): its
// migrations and version, find with exactly the SQLite catalog's rules (the same files in
// both, the same queries, the same answers), leases, per-host scan positions, the copy from
// SQLite, and a server restarting under it.
import ArtifactsCore
import ArtifactsTestSupport
import Foundation
import Synchronization
import Testing

@testable import ArtifactsCatalog

struct PostgresCatalogTests {
  func newCatalog(host: String = "host-a", _ label: String = "catalog") throws -> (PostgresCatalog, String) {
    let server = try TestPostgres.shared()
    let url = server.urlWithPassword(try server.makeDatabase(label))
    return (try PostgresCatalog(url: url, host: host, reconnectWindow: 5), url)
  }

  @Test func migratesOnceAndRecordsItsVersion() throws {
    let server = try TestPostgres.shared()
    let url = server.urlWithPassword(try server.makeDatabase("concurrent"))
    // Six hosts opening a new catalog at the same moment: one migrates, the others wait and see it done.
    let results = Mutex([Result<[String], CatalogError>]())
    DispatchQueue.concurrentPerform(iterations: 6) { index in
      let result = Result { () throws(CatalogError) in
        try PostgresCatalog(url: url, host: "host-\(index)", reconnectWindow: 5).appliedMigrations()
      }
      results.withLock { $0.append(result) }
    }
    for result in results.withLock({ $0 }) { #expect(try result.get() == ["pg001_initial"]) }
    let database = String(url.split(separator: "/").last!)
    #expect(try server.psql("SELECT count(*) FROM artifacts_migration", database: database) == "1")
    #expect(try server.psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'", database: database) == "1")
  }

  @Test func refusesACatalogFromANewerVersion() throws {
    let (_, url) = try newCatalog("newer")
    let database = String(url.split(separator: "/").last!)
    try TestPostgres.shared().psql(
      "INSERT INTO artifacts_migration (identifier) VALUES ('pg999_future')", database: database)
    #expect {
      try PostgresCatalog(url: url, host: "h", reconnectWindow: 1)
    } throws: { error in
      let error = error as! CatalogError
      return error.code == .newerSchema && error.description.contains("newer version of artifacts")
    }
  }

  @Test func aWrongPasswordIsOneMessageThatNeverShowsIt() throws {
    let server = try TestPostgres.shared()
    let url = try server.makeDatabase("password")
    let wrong = url.replacingOccurrences(of: "://artifacts@", with: "://artifacts:Not-The-Password-91@")
    let started = Date()
    #expect {
      try PostgresCatalog(url: wrong, host: "h", reconnectWindow: 30)
    } throws: { error in
      let text = "\(error)"
      return text.contains("password authentication failed") && !text.contains("Not-The-Password-91")
        && text.contains("postgresql://artifacts@127.0.0.1:\(server.port)/")
    }
    // Refused credentials are not a server that went away: no waiting for a reconnect.
    #expect(Date().timeIntervalSince(started) < 5)
  }

  @Test func describesTheCatalogWithoutItsPassword() {
    #expect(
      PostgresCatalog.describe("postgresql://me:secret@db.internal:6543/archive?sslmode=require")
        == "postgresql://me@db.internal:6543/archive")
    #expect(PostgresCatalog.describe("host=db user=me password=secret dbname=archive") == "postgresql://me@db/archive")
    #expect(PostgresCatalog.redacted("postgresql://me:secret@[::1/x") == "postgresql://me@[::1/x")
  }

  // MARK: find, exactly as on SQLite

  struct Spec {
    var file: Int
    var name: String
    var container = 1
    var response = 1
    var model = "gpt-5-2025-08-07"
    var day: Int64 = 0
    var size: Int64 = 100
    var type = "text/plain"
    var state = FileState.archived
  }

  static let specs: [Spec] = [
    Spec(file: 1, name: "sales_chart.png", day: 0, size: 5000, type: "image/png"),
    Spec(file: 2, name: "sales.csv", day: 0, type: "text/csv"),
    Spec(
      file: 3, name: "Résumé.PDF", container: 2, response: 2, model: "gpt-4o-mini-2024-07-18", day: 2, size: 900,
      type: "application/pdf"),
    Spec(
      file: 4, name: "chart_v2.png", container: 2, response: 2, model: "gpt-4o-mini-2024-07-18", day: 2, size: 7000,
      type: "image/png"),
    Spec(file: 5, name: "notes.txt", container: 2, response: 3, day: 5, size: 10),
    Spec(file: 6, name: "RÉSUMÉ-final.pdf", container: 3, response: 4, day: 7, size: 901, type: "application/pdf"),
    Spec(file: 7, name: "100%_done [draft].txt", container: 3, response: 4, day: 7, size: 11),
    Spec(file: 8, name: "say \"hi\" \\ back.md", container: 3, response: 5, day: 8, size: 12),
    Spec(file: 9, name: "Chart.PNG", container: 4, response: 6, day: 9, size: 5000, type: "image/png"),
    Spec(file: 10, name: "ab", container: 4, response: 6, day: 9, size: 1),
    Spec(file: 11, name: "forecast_4242.csv", container: 4, response: 7, day: 10, size: 300, type: "text/csv"),
    Spec(file: 12, name: "FORECAST_4242.CSV", container: 5, response: 8, day: 11, size: 300, type: "text/csv"),
    Spec(file: 13, name: "lost_report.xlsx", container: 5, response: 8, day: 11, state: .lost),
    Spec(file: 14, name: "pending_plot.png", container: 5, response: 9, day: 12, state: .pending),
    Spec(file: 15, name: "failed.json", container: 6, response: 10, day: 12, state: .failed),
    Spec(file: 16, name: "été.txt", container: 6, response: 10, day: 13, size: 2),
    Spec(file: 17, name: "sales_chart.png", container: 6, response: 11, day: 14, size: 5001, type: "image/png"),
  ]

  /// `specs` recorded and settled in `catalog`, one log per response, as a scan would.
  func fill(_ catalog: some ScanRecorder & WorkQueue) throws {
    for spec in Self.specs {
      let citation = Citation(
        file: ContainerFileRef(containerID: FakeID.container(spec.container), fileID: FakeID.file(spec.file)),
        filename: spec.name, startIndex: 0, endIndex: 4, citedText: "sandbox:/mnt/data/\(spec.name)",
        response: ResponseInfo(
          id: FakeID.response(spec.response), createdAt: 1_764_000_000 + spec.day * 86400, model: spec.model),
        itemID: "msg_\(spec.file)", outputIndex: 0, contentIndex: 0, annotationIndex: spec.file,
        location: LogLocation(path: "/logs/\(spec.response).jsonl", line: spec.file))
      _ = try catalog.record(
        LogContribution(
          path: "/logs/\(spec.response).jsonl", format: .jsonLines, citations: [citation], sightings: [], responses: []),
        now: Date(timeIntervalSince1970: 1_764_000_000))
      let item = try #require(try catalog.pendingWork().first { $0.file.fileID == FakeID.file(spec.file) })
      switch spec.state {
      case .archived:
        try catalog.markArchived(
          item, digest: Digest(hex: String(format: "%064x", spec.file))!, size: spec.size, mediaType: spec.type,
          attempts: 1, now: Date(timeIntervalSince1970: 1_764_100_000))
      case .lost, .failed:
        try catalog.markUnarchived(
          item, state: spec.state, reason: UnarchivedReason(.fileNotFound, "HTTP 404 for \(spec.name)"), attempts: 1)
      case .pending:
        break
      }
    }
  }

  /// What a find shows of a file (row ids are each engine's own).
  func summary(_ files: [FoundFile]) -> [String] {
    files.map { file in
      [
        file.filename, file.containerID, file.fileID, file.state.rawValue, file.digest?.hex ?? "-",
        file.size.map(String.init) ?? "-", file.mediaType ?? "-", file.lastError ?? "-",
        file.citations.map { "\($0.key) \($0.responseID ?? "-") \($0.model ?? "-") \($0.log ?? "-"):\($0.line ?? 0)" }
          .joined(separator: ";"),
      ].joined(separator: " | ")
    }
  }

  @Test func findAnswersAsTheSQLiteCatalogDoes() throws {
    let local = try Catalog(inMemory: ())
    try fill(local)
    let (shared, _) = try newCatalog("parity")
    try fill(shared)
    let day = Int64(86400)
    var queries: [FindQuery] = []
    let patterns = [
      "chart", "CHART", "Chart", "chart.png", "sales_", "%_", "[draft]", "\"hi\"", "\\", "ab", "a", "Ch", "É", "é",
      "résumé", "RÉSUMÉ", "sumé", "forecast_4242", "FORECAST", "4242.csv", "*.png", "*.PNG", "sales*", "chart?v2.png",
      "[cn]*", "[^s]*.txt", "*[]]*", "*[*", "[a-c]*", "?b", "*\\*", "^s.*\\.(csv|png)$", "(?i)^résumé", ".",
    ]
    for pattern in patterns {
      queries.append(
        FindQuery(
          pattern: FindQuery.pattern(
            pattern, regex: pattern.hasPrefix("^") || pattern.hasPrefix("(?") || pattern == ".")))
    }
    for exact in ["notes.txt", "NOTES.TXT", "Résumé.PDF", "résumé.pdf", "résumé.PDF"] {
      queries.append(FindQuery(pattern: .exact(exact)))  // smart case, as for every pattern
    }
    queries += [
      FindQuery(states: [.archived, .lost, .failed, .pending]),
      FindQuery(states: [.lost, .failed]),
      FindQuery(pattern: .substring("plot"), states: [.pending]),
      FindQuery(containerID: FakeID.container(2)),
      FindQuery(responseID: FakeID.response(4)),
      FindQuery(model: "gpt-4o-mini"),
      FindQuery(model: "gpt-5"),
      FindQuery(since: 1_764_000_000 + 5 * day),
      FindQuery(until: 1_764_000_000 + 5 * day),
      FindQuery(extensions: ["png", "PDF"]),
      FindQuery(mediaType: "image"),
      FindQuery(mediaType: "text/csv"),
    ]
    for sort in FindQuery.Sort.allCases {
      queries.append(FindQuery(sort: sort))
      queries.append(FindQuery(sort: sort, limit: 3))
      var paged = FindQuery(pattern: .substring("s"), sort: sort, limit: 4)
      paged.offset = 2
      queries.append(paged)
      queries.append(FindQuery(pattern: FindQuery.pattern("sales"), sort: sort, limit: 1))
    }
    var regexPage = FindQuery(pattern: FindQuery.pattern("\\.(png|csv)$", regex: true), limit: 2)
    regexPage.offset = 1
    queries.append(regexPage)
    var answered = 0
    for query in queries {
      for detail in [FindQuery.Detail.full, .paths] {
        var asked = query
        asked.detail = detail
        let expected = summary(try local.find(asked))
        #expect(try summary(shared.find(asked)) == expected, "\(asked)")
        if !expected.isEmpty { answered += 1 }
        // Handed over one at a time (streamed with .paths), the same answer from both.
        for catalog in [local, shared] as [any ArchiveIndex] {
          var streamed: [FoundFile] = []
          try catalog.forEachFound(asked) {
            streamed.append($0)
            return true
          }
          #expect(summary(streamed) == expected, "\(type(of: catalog)) \(asked)")
        }
      }
    }
    // Most queries find something: the comparison is of answers, not of empty lists.
    #expect(answered > queries.count * 3 / 2, "\(answered) of \(queries.count * 2) found something")
    // The other readers.
    for id in [
      FakeID.file(3), String(format: "%064x", 4), String(format: "%064x", 4).prefix(6).description, "sales_chart.png",
      "nothing",
    ] {
      #expect(try summary(shared.lookup(id)) == summary(local.lookup(id)), "\(id)")
    }
    let digests: Set<Digest> = [Digest(hex: String(format: "%064x", 1))!, Digest(hex: String(format: "%064x", 9))!]
    #expect(try summary(shared.files(withDigests: digests)) == summary(local.files(withDigests: digests)))
    #expect(try shared.count(in: [.lost, .failed]) == local.count(in: [.lost, .failed]))
    #expect(try shared.stateCounts() == local.stateCounts())
    #expect(try shared.integrityProblems().isEmpty)
    // An invalid regular expression is said the same way.
    #expect(throws: CatalogError.self) { try shared.find(FindQuery(pattern: .regex("(unclosed"))) }
  }

  @Test func globsBecomeAnchoredExpressions() {
    #expect(GlobExpression.regex("*.png") == "^.*\\.png$")
    #expect(GlobExpression.regex("a?[^x-z]b") == "^a.[^x-z]b$")
    #expect(GlobExpression.regex("[]a]") == "^[\\]a]$")
    #expect(GlobExpression.regex("x[") == nil)
    #expect(GlobExpression.regex("(1)+{2}|$") == "^\\(1\\)\\+\\{2\\}\\|\\$$")
  }

  @Test func aLogIsRecordedAsOnSQLiteWhateverItRepeats() throws {
    let (shared, _) = try newCatalog("record")
    let local = try Catalog(inMemory: ())
    func citation(_ file: Int, _ name: String, response: Int, annotation: Int, text: String?, createdAt: Int64?)
      -> Citation
    {
      Citation(
        file: ContainerFileRef(containerID: FakeID.container(1), fileID: FakeID.file(file)), filename: name,
        startIndex: 1, endIndex: 5, citedText: text,
        response: ResponseInfo(id: FakeID.response(response), createdAt: createdAt, model: "gpt-5"),
        itemID: "msg_\(response)", outputIndex: 1, contentIndex: 0, annotationIndex: annotation,
        location: LogLocation(path: "/logs/a.jsonl", line: annotation + 1))
    }
    // A stream repeats an annotation (the first time without its text), a response's time
    // arrives late, and one file is cited twice under two names.
    let citations = [
      citation(1, "chart.png", response: 1, annotation: 0, text: nil, createdAt: nil),
      citation(
        1, "chart.png", response: 1, annotation: 0, text: "sandbox:/mnt/data/chart.png", createdAt: 1_764_000_000),
      citation(2, "data.csv", response: 1, annotation: 1, text: nil, createdAt: nil),
      citation(2, "data (renamed).csv", response: 2, annotation: 2, text: nil, createdAt: 1_764_000_500),
    ]
    let log = LogContribution(
      path: "/logs/a.jsonl", format: .jsonLines, citations: citations, sightings: [], responses: [])
    let first = try shared.record(log)
    #expect(first == (try local.record(log)))
    #expect(first == RecordOutcome(newFiles: 2, newCitations: 3, citedFiles: [1, 2]))
    #expect(try shared.record(log) == RecordOutcome(newFiles: 0, newCitations: 0, citedFiles: [1, 2]))
    let everything = FindQuery(states: [.pending], sort: .newest)
    #expect(try summary(shared.find(everything)) == summary(local.find(everything)))
    #expect(
      try shared.find(everything).first { $0.fileID == FakeID.file(1) }?.citations.map(\.citedText) == [
        "sandbox:/mnt/data/chart.png"
      ])
    #expect(try shared.pendingWork().map(\.deadline) == local.pendingWork().map(\.deadline))
  }

  // MARK: the queue and the scan positions

  @Test func leasesHoldUntilTheyRunOutOnTheServersClock() throws {
    let (catalog, url) = try newCatalog("leases")
    let other = try PostgresCatalog(url: url, host: "host-b", reconnectWindow: 5)
    try fill(catalog)
    let item = try #require(try catalog.pendingWork().first)
    // The clients' clocks disagree by an hour; only the duration counts.
    let first = Lease(owner: "host-a/run-1", now: Date(), duration: 1)
    let second = Lease(owner: "host-b/run-1", now: Date().addingTimeInterval(3600), duration: 30)
    #expect(try catalog.claim(item, lease: first) { _ in true })
    #expect(try !other.claim(item, lease: second) { _ in true })
    #expect(try catalog.claim(item, lease: first) { _ in true })  // the holder may claim again
    Thread.sleep(forTimeInterval: 1.3)
    #expect(try other.claim(item, lease: second) { _ in true })  // run out
    #expect(try !catalog.claim(item, lease: first) { _ in true })
    try other.renew([item], lease: second)
    // A holder known to be dead is taken from at once.
    let third = Lease(owner: "host-b/run-2", now: Date(), duration: 30)
    #expect(try other.claim(item, lease: third) { owner in owner != "host-b/run-1" })
    // An archived file is no longer anyone's to claim.
    try other.markArchived(
      item, digest: Digest(hex: String(repeating: "e", count: 64))!, size: 1, mediaType: "text/plain", attempts: 1)
    #expect(try !catalog.claim(item, lease: Lease(owner: "host-a/run-9", now: Date(), duration: 30)) { _ in false })
  }

  @Test func scanPositionsAreEachHostsOwn() throws {
    let (first, url) = try newCatalog(host: "alpha", "positions")
    let second = try PostgresCatalog(url: url, host: "beta", reconnectWindow: 5)
    let checkpoint = LogCheckpoint(
      device: 1, inode: 2, size: 300, modifiedNanoseconds: 4, headFingerprint: "abc", bytesConsumed: 300,
      linesConsumed: 3, format: .jsonLines, compressed: false, streamResponse: nil)
    _ = try first.record(
      LogContribution(
        path: "/var/log/app.jsonl", format: .jsonLines, citations: [], sightings: [], responses: [],
        checkpoint: checkpoint))
    #expect(try first.logCheckpoint(path: "/var/log/app.jsonl")?.bytesConsumed == 300)
    #expect(try second.logCheckpoint(path: "/var/log/app.jsonl") == nil)
    #expect(try first.logIdentities().keys.sorted() == ["/var/log/app.jsonl"])
    #expect(try second.logIdentities().isEmpty)
    #expect(
      try first.carryCheckpoint(
        from: "/var/log/app.jsonl", to: "/var/log/app.jsonl.1",
        identity: LogFileIdentity(device: 1, inode: 2, size: 300, modifiedNanoseconds: 4)))
    #expect(try first.logCheckpoint(path: "/var/log/app.jsonl.1")?.linesConsumed == 3)
    #expect(try first.logCheckpoint(path: "/var/log/app.jsonl") == nil)
  }

  // MARK: moving a local catalog in

  @Test func aLocalCatalogIsCopiedWhole() throws {
    let directory = TemporaryDirectory()
    let local = try Catalog(path: directory.file("catalog.sqlite"))
    try fill(local)
    _ = try local.record(
      LogContribution(
        path: "/logs/1.jsonl", format: .jsonLines, citations: [], sightings: [], responses: [],
        checkpoint: LogCheckpoint(
          device: 7, inode: 8, size: 10, modifiedNanoseconds: 9, headFingerprint: "f", bytesConsumed: 10,
          linesConsumed: 1, format: .jsonLines, compressed: true, streamResponse: nil)))
    let (shared, _) = try newCatalog(host: "migrated", "copy")
    let counts = try shared.copy(from: local)
    #expect(counts.files == Self.specs.count)
    #expect(counts.citations == Self.specs.count)
    let everything = FindQuery(states: [.archived, .lost, .failed, .pending])
    #expect(try summary(shared.find(everything)) == summary(local.find(everything)))
    for sort in FindQuery.Sort.allCases {
      #expect(try summary(shared.find(FindQuery(sort: sort))) == summary(local.find(FindQuery(sort: sort))))
    }
    #expect(try shared.logCheckpoint(path: "/logs/1.jsonl")?.compressed == true)
    #expect(try shared.pendingWork().map(\.file) == local.pendingWork().map(\.file))
    #expect(try shared.integrityProblems().isEmpty)
    // New rows go on after the copied ones.
    _ = try shared.addUncitedFiles(
      containerID: FakeID.container(1), files: [(id: "cfile_new", path: "/mnt/data/new.txt")])
    #expect(try shared.knownFileIDs(containerID: FakeID.container(1)).contains("cfile_new"))
    // A second copy would mix two archives: refused, nothing changed.
    #expect(throws: CatalogError.self) { try shared.copy(from: local) }
    #expect(try shared.find(everything).count == Self.specs.count + 1)
  }

  // MARK: the server going away

  @Test func aRestartedServerIsReconnectedTo() throws {
    // A server of its own: the others' tests must not see it stop.
    let server = try TestPostgres(in: "/tmp/artifacts-postgres-restart-\(getpid())")
    defer { try? server.stop() }
    let catalog = try PostgresCatalog(
      url: server.urlWithPassword(try server.makeDatabase("restart")), host: "h", reconnectWindow: 30)
    try fill(catalog)
    try server.stopServer()
    let restarted = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      Thread.sleep(forTimeInterval: 1)
      try? server.startServer()
      restarted.signal()
    }
    // Asked while the server is down: waits for it, then answers.
    #expect(try catalog.find(FindQuery()).count == Self.specs.filter { $0.state == .archived }.count)
    restarted.wait()
    let item = try #require(try catalog.pendingWork().first)
    #expect(try catalog.claim(item, lease: Lease(owner: "h/run", now: Date(), duration: 30)) { _ in true })
    // Down for longer than the window: the caller hears it, naming the catalog.
    let impatient = try PostgresCatalog(
      url: server.urlWithPassword(try server.makeDatabase("impatient")), host: "h", reconnectWindow: 1)
    try server.stopServer()
    defer { try? server.startServer() }
    #expect {
      try impatient.pendingWork()
    } throws: { error in
      "\(error)".contains("postgresql://artifacts@127.0.0.1:\(server.port)/")
        && !"\(error)".contains(TestPostgres.password)
    }
  }
}
