// `artifacts serve` in a real browser: the built binary serves a store synced from the
// emulator, and headless Chromium (Debian's `chromium`) loads its pages. Screenshots go to
// .build/test-output/web/ (ARTIFACTS_TEST_OUTPUT overrides), to be looked at.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One archive, one server for every test here: the store is only read.
final class GalleryFixture: Sendable {
  static func shared() throws -> GalleryFixture { try sharedFixture.get() }
  private static let sharedFixture: Result<GalleryFixture, any Error> = Result {
    let fixture = try GalleryFixture()
    atexit { try? GalleryFixture.sharedFixture.get().stop() }
    return fixture
  }

  static let container = FakeID.container(700)
  static let lostContainer = FakeID.container(701)
  /// A name that is markup: it must reach the page as text.
  static let hostileName = "<img src=x onerror=\"document.body.innerHTML='PWNED-NAME'\">.png"
  static let reportHTML = """
    <!doctype html><html><body><h1>Report</h1>
    <script>document.title='PWNED-HTML'; document.body.innerHTML='PWNED-HTML';</script>
    </body></html>
    """
  static let diagramSVG = """
    <svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" onload="document.documentElement.innerHTML='PWNED-SVG'">
    <script>document.documentElement.innerHTML='PWNED-SVG'</script><rect width="100" height="100" fill="red"/></svg>
    """
  static let csv = "region,units,note\nnorth,12,\"has, comma\"\nsouth,7,\"<script>alert('PWNED-CSV')</script>\"\n"
  static let json = #"{"zeta":1,"alpha":{"nested":[1,2,{"deep":true}]},"empty":{}}"#

  /// Archived names, by file id.
  let names: [String: String]
  let store: TemporaryDirectory
  let logs: TemporaryDirectory
  let address: String
  let token: String
  private let server: Process
  let binary = TestPaths.binary("artifacts")

  /// `http://127.0.0.1:PORT`
  var base: String { address.range(of: "/?token=").map { String(address[..<$0.lowerBound]) } ?? address }

  init() throws {
    let key = "sk-web-test"
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let examples = TestPaths.packageRoot.appendingPathComponent("Examples/containers/files").path
    let pngs = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasSuffix(".png") }.sorted()
    let images = try pngs.map { try Data(contentsOf: URL(fileURLWithPath: examples + "/" + $0)) }
    // Two different pictures (some of the examples are copies of each other).
    let chartA = images[0]
    guard let chartB = images.first(where: { $0 != chartA }) else {
      throw FixtureError("the examples hold one picture")
    }
    let entries: [(name: String, bytes: [UInt8])] = [
      ("sales_chart.png", [UInt8](chartA)), ("Revenue_Chart.png", [UInt8](chartB)),
      ("chart_copy.png", [UInt8](chartA)), (Self.hostileName, [UInt8](chartB)),
      ("report.html", Array(Self.reportHTML.utf8)), ("diagram.svg", Array(Self.diagramSVG.utf8)),
      ("regions.csv", Array(Self.csv.utf8)), ("result.json", Array(Self.json.utf8)),
      ("notes.txt", Array("plain notes\n".utf8)),
    ]
    var files: [EmulatedFile] = []
    var cited: [(id: String, name: String)] = []
    var names: [String: String] = [:]
    for (index, entry) in entries.enumerated() {
      let id = FakeID.file(700 + index)
      files.append(EmulatedFile(id: id, path: "/mnt/data/f\(index)", bytes: entry.bytes))
      cited.append((id, entry.name))
      names[id] = entry.name
    }
    emulator.addContainer(id: Self.container, files: files)
    emulator.addContainer(
      id: Self.lostContainer, files: [EmulatedFile(id: FakeID.file(799), path: "/mnt/data/gone.png", bytes: [1])])
    emulator.expire(containerID: Self.lostContainer)
    logs = TemporaryDirectory("web-logs")
    var lines = ""
    for (index, file) in cited.enumerated() {
      lines +=
        responseLine(
          id: FakeID.response(700 + index), container: Self.container, files: [file],
          createdAt: 1_764_000_000 + index * 3600) + "\n"
    }
    lines +=
      responseLine(
        id: FakeID.response(799), container: Self.lostContainer, files: [(FakeID.file(799), "gone_chart.png")],
        createdAt: 1_764_100_000) + "\n"
    logs.write("app.jsonl", lines)
    store = TemporaryDirectory("web-store")
    let synced = try run(
      binary, ["sync", "--store", store.path, logs.path],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    // 3: one file was lost (its container expired), as intended.
    guard synced.status == 3 else { throw FixtureError("sync exited \(synced.status): \(synced.stderr)") }
    self.names = names

    server = Process()
    server.executableURL = binary
    server.arguments = ["serve", "--store", store.path, "--port", "0"]
    let output = Pipe()
    server.standardOutput = output
    server.standardError = FileHandle.nullDevice
    try server.run()
    // The one line serve prints: http://127.0.0.1:PORT/?token=…
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { throw FixtureError("serve exited before printing its address") }
      line.append(chunk)
    }
    address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    token = String(address.split(separator: "token=").last ?? "")
  }

  func stop() {
    server.terminate()
    server.waitUntilExit()
  }

  struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  // MARK: Talking to it

  struct Reply {
    var status: Int
    var headers: [String: String]
    var body: Data
    func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
  }

  /// A GET with `headers`, no redirects followed, no cookies kept.
  func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
    var request = URLRequest(url: URL(string: base + path)!)
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    request.httpShouldHandleCookies = false
    let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
    defer { session.finishTasksAndInvalidate() }
    let (data, response) = try await session.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields { fields["\(name)"] = "\(value)" }
    return Reply(status: http.statusCode, headers: fields, body: data)
  }

  func authorized(_ path: String) async throws -> Reply {
    try await get(path, headers: ["Authorization": "Bearer \(token)"])
  }

  /// Chromium's DOM of `path` after load, reached through the token address (so the cookie
  /// dance is part of every page a test reads).
  func dom(_ path: String) async throws -> String {
    let separator = path.contains("?") ? "&" : "?"
    return try await chromium(["--dump-dom", base + path + separator + "token=" + token]).stdout
  }

  func screenshot(_ path: String, named name: String, height: Int = 1000) async throws -> String {
    let directory =
      ProcessInfo.processInfo.environment["ARTIFACTS_TEST_OUTPUT"]
      ?? TestPaths.packageRoot.appendingPathComponent(".build/test-output/web").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let file = directory + "/" + name + ".png"
    try? FileManager.default.removeItem(atPath: file)
    let separator = path.contains("?") ? "&" : "?"
    _ = try await chromium([
      "--window-size=1280,\(height)", "--screenshot=\(file)", base + path + separator + "token=" + token,
    ])
    return file
  }

  /// Chromium takes seconds: it runs on a Dispatch thread, never blocking the test pool's
  /// few threads (other suites' async tests need them).
  func chromium(_ arguments: [String]) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try self.chromiumNow(arguments) })
      }
    }
  }

  private func chromiumNow(_ arguments: [String]) throws -> ProcessResult {
    let profile = TemporaryDirectory("chromium-profile")
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. A page that
    // never finishes loading must fail the test, not hang it.
    return try run(
      URL(fileURLWithPath: "/usr/bin/timeout"),
      [
        "60", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--user-data-dir=\(profile.path)",
        "--virtual-time-budget=3000",
      ] + arguments)
  }

  func digest(ofFile name: String) throws -> String {
    let result = try run(binary, ["find", "--store", store.path, "--exact", "--json", name])
    let object = try JSONSerialization.jsonObject(with: Data(result.stdoutLines[0].utf8)) as! [String: Any]
    return object["sha256"] as! String
  }

  func fileID(named name: String) -> String { names.first { $0.value == name }!.key }
}

final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
  func urlSession(
    _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
  ) { completionHandler(nil) }
}

/// Names in the gallery's cards, in page order.
func cardNames(_ dom: String) -> [String] {
  dom.components(separatedBy: "class=\"name\"").dropFirst().compactMap { part in
    guard let start = part.firstIndex(of: ">"), let end = part.range(of: "</a>") else { return nil }
    return decodeEntities(String(part[part.index(after: start)..<end.lowerBound]))
  }
}

func decodeEntities(_ text: String) -> String {
  text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
    .replacingOccurrences(of: "&amp;", with: "&")
}

@Suite(.serialized) struct GalleryBrowserTests {
  @Test func galleryListsTheArchiveNewestFirstWithThumbnails() async throws {
    let fixture = try GalleryFixture.shared()
    let dom = try await fixture.dom("/")
    let expected = fixture.names.values.sorted()
    #expect(cardNames(dom).sorted() == expected)
    // Newest first: the responses were an hour apart, in the order of `names`' ids.
    let newestFirst = fixture.names.sorted { $0.key > $1.key }.map(\.value)
    #expect(cardNames(dom) == newestFirst)
    // An image per PNG, each a WebP thumbnail small enough for 60 on a page within 2 MB.
    let thumbnails = dom.components(separatedBy: "<img src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    #expect(thumbnails.count == 4, "\(thumbnails)")
    var total = 0
    for path in thumbnails {
      #expect(path.hasPrefix("/thumb/") && path.hasSuffix(".webp"))
      let reply = try await fixture.authorized(path)
      #expect(reply.status == 200)
      #expect(reply.header("Content-Type") == "image/webp")
      #expect(reply.body.count > 100 && reply.body.count < 2_000_000 / 60, "\(reply.body.count) bytes")
      #expect(String(decoding: reply.body.prefix(4), as: UTF8.self) == "RIFF")
      total += reply.body.count
    }
    // Made once per digest: four names, two images, two thumbnails on disk.
    let kept = (FileManager.default.subpaths(atPath: fixture.store.path + "/thumbnails") ?? []).filter {
      $0.hasSuffix(".webp")
    }
    #expect(kept.count == 2, "\(kept)")
    // The problems link counts the lost file.
    #expect(dom.contains("Lost and failed"))
    let shot = try await fixture.screenshot("/", named: "gallery", height: 1400)
    #expect(FileManager.default.fileExists(atPath: shot))
  }

  @Test func searchNarrowsAsFindDoes() async throws {
    let fixture = try GalleryFixture.shared()
    for pattern in ["chart", "Chart", "*.csv", "CHART", "r*t.*", "zzz"] {
      let find = try run(fixture.binary, ["find", "--store", fixture.store.path, "--json", pattern])
      let found = find.stdoutLines.compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["filename"] as? String
      }
      let encoded = pattern.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
      let dom = try await fixture.dom("/?q=\(encoded)")
      #expect(cardNames(dom).sorted() == found.sorted(), "pattern \(pattern)")
      if found.isEmpty { #expect(dom.contains("No archived file matches")) }
    }
    // Smart case: lower case matches both spellings, upper case only its own.
    #expect(try await cardNames(fixture.dom("/?q=chart")).count == 3)
    #expect(try await cardNames(fixture.dom("/?q=Chart")) == ["Revenue_Chart.png"])
    // Filters are find's: an extension, a media type, a response.
    #expect(try await cardNames(fixture.dom("/?ext=json")) == ["result.json"])
    #expect(try await Set(cardNames(fixture.dom("/?type=text"))) == ["regions.csv", "notes.txt", "report.html"])
    let response = FakeID.response(706)
    #expect(try await cardNames(fixture.dom("/?response=\(response)")) == ["regions.csv"])
    _ = try await fixture.screenshot("/?q=chart", named: "search")
  }

  @Test func filePageShowsCitationsAndPreviews() async throws {
    let fixture = try GalleryFixture.shared()
    let container = GalleryFixture.container
    let csvPage = try await fixture.dom("/file/\(container)/\(fixture.fileID(named: "regions.csv"))")
    // The CSV as a table, quoting understood, markup in a cell shown as text.
    #expect(csvPage.contains("<td>has, comma</td>"))
    #expect(csvPage.contains("&lt;script&gt;alert('PWNED-CSV')&lt;/script&gt;"))
    #expect(!csvPage.contains("<script>"))
    // Provenance: the citing response, model, time, cited text, log and line.
    #expect(csvPage.contains(FakeID.response(706)))
    #expect(csvPage.contains("gpt-5-2025-08-07"))
    #expect(csvPage.contains("2025-11-24 22:00:00 UTC"))
    #expect(csvPage.contains("sandbox:/mnt/data/regions.csv"))
    #expect(csvPage.contains(fixture.logs.path + "/app.jsonl:7"))
    #expect(csvPage.contains(try fixture.digest(ofFile: "regions.csv")))

    // JSON re-indented with its keys in their order.
    let jsonPage = try await fixture.dom("/file/\(container)/\(fixture.fileID(named: "result.json"))")
    #expect(jsonPage.contains("{\n  \"zeta\": 1,\n  \"alpha\": {\n    \"nested\": ["))
    #expect(jsonPage.contains("\"empty\": {}"))
    // An image at full size, from the route that names its digest.
    let pngDigest = try fixture.digest(ofFile: "sales_chart.png")
    let imagePage = try await fixture.dom("/file/\(container)/\(fixture.fileID(named: "sales_chart.png"))")
    #expect(imagePage.contains("<img class=\"full\" src=\"/blob/\(pngDigest)\""))
    #expect(try await fixture.dom("/file/\(container)/\(fixture.fileID(named: "notes.txt"))").contains("plain notes"))
    _ = try await fixture.screenshot("/file/\(container)/\(fixture.fileID(named: "regions.csv"))", named: "file-csv")
    _ = try await fixture.screenshot(
      "/file/\(container)/\(fixture.fileID(named: "sales_chart.png"))", named: "file-image", height: 1300)

    // Lost files with the server's reason.
    let problems = try await fixture.dom("/problems")
    #expect(problems.contains("gone_chart.png"))
    #expect(problems.contains("Container is expired"))
    #expect(try await fixture.authorized("/file/\(container)/cfile_nope").status == 404)
  }

  @Test func archivedMarkupNeverRunsInTheApp() async throws {
    let fixture = try GalleryFixture.shared()
    // The payloads are live: opened as files of their own, Chromium runs them.
    let scratch = TemporaryDirectory("payloads")
    let htmlFile = scratch.write("report.html", GalleryFixture.reportHTML)
    let svgFile = scratch.write("diagram.svg", GalleryFixture.diagramSVG)
    #expect(try await fixture.chromium(["--dump-dom", "file://" + htmlFile]).stdout.contains("<body>PWNED-HTML"))
    // The SVG's script replaces the document: its rectangle is gone.
    let svgDOM = try await fixture.chromium(["--dump-dom", "file://" + svgFile]).stdout
    #expect(svgDOM.contains("PWNED-SVG") && !svgDOM.contains("<rect"), "\(svgDOM)")

    // In the app they never run: not on the gallery, nor on their own pages, nor through a
    // hostile name. (Opened directly, their bytes are a download: the headers below.)
    let container = GalleryFixture.container
    let pages = [
      "/", "/?q=report", "/?q=diagram", "/?q=onerror", "/file/\(container)/\(fixture.fileID(named: "report.html"))",
      "/file/\(container)/\(fixture.fileID(named: "diagram.svg"))",
      "/file/\(container)/\(fixture.fileID(named: GalleryFixture.hostileName))",
    ]
    for page in pages {
      let dom = try await fixture.dom(page)
      // A payload that ran leaves `<body>PWNED-…` (the hostile name shows its words as text).
      #expect(!dom.contains("<body>PWNED") && !dom.contains("<title>PWNED"), "\(page)")
      #expect(dom.contains("<header class=\"top\">"), "\(page) was replaced")
    }
    // The hostile name arrives as text: the only images are thumbnails.
    let gallery = try await fixture.dom("/")
    #expect(gallery.contains("&lt;img src=x onerror="))
    #expect(!gallery.contains("<img src=\"x\""))
    for name in ["report.html", "diagram.svg"] {
      let digest = try fixture.digest(ofFile: name)
      let reply = try await fixture.authorized("/blob/\(digest)")
      #expect(reply.status == 200)
      #expect(reply.header("Content-Security-Policy") == "default-src 'none'; sandbox")
      #expect(reply.header("X-Content-Type-Options") == "nosniff")
      #expect(reply.header("Content-Type") == "application/octet-stream")
      #expect(reply.header("Content-Disposition")?.hasPrefix("attachment;") == true)
      // No thumbnail is made of markup (SVG is never rasterised here).
      #expect(try await fixture.authorized("/thumb/\(digest).webp").status == 404)
      // The file page shows no preview of it.
      let page = try await fixture.dom("/file/\(container)/\(fixture.fileID(named: name))")
      #expect(page.contains("are never shown here"))
    }
    // Images go out inline, as the image type their bytes show; text as text/plain.
    let png = try await fixture.authorized("/blob/\(try fixture.digest(ofFile: "sales_chart.png"))")
    #expect(png.header("Content-Type") == "image/png")
    #expect(png.header("Content-Disposition")?.hasPrefix("inline;") == true)
    #expect(png.header("Content-Security-Policy") == "default-src 'none'; sandbox")
    let csv = try await fixture.authorized("/blob/\(try fixture.digest(ofFile: "regions.csv"))")
    #expect(csv.header("Content-Type") == "text/plain; charset=utf-8")
    #expect(String(decoding: csv.body, as: UTF8.self) == GalleryFixture.csv)
    // The app's own pages forbid scripts outright.
    let page = try await fixture.authorized("/")
    #expect(page.header("Content-Security-Policy")?.hasPrefix("default-src 'none'; img-src 'self'") == true)
  }

  @Test func exportDownloadMatchesItsManifest() async throws {
    let fixture = try GalleryFixture.shared()
    let reply = try await fixture.authorized("/export?q=chart")
    #expect(reply.status == 200)
    #expect(reply.header("Content-Type") == "application/x-tar")
    #expect(reply.header("Content-Disposition")?.hasPrefix("attachment;") == true)
    let scratch = TemporaryDirectory("web-export")
    let archive = scratch.write("export.tar", reply.body)
    let script = """
      import hashlib, json, sys, tarfile
      with tarfile.open(sys.argv[1]) as tar:
          members = tar.getmembers()
          assert members[0].name == "MANIFEST.json", members[0].name
          manifest = json.load(tar.extractfile(members[0]))
          names = set()
          for entry in manifest["entries"]:
              member = tar.getmember(entry["path"])
              while member.islnk():
                  member = tar.getmember(member.linkname)
              data = tar.extractfile(member).read()
              assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
              names.add(entry["filename"])
          print("\\n".join(sorted(names)))
      """
    let read = try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, archive])
    #expect(read.status == 0, "\(read.stderr)")
    let find = try run(fixture.binary, ["find", "--store", fixture.store.path, "--json", "chart"])
    let found = find.stdoutLines.compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["filename"] as? String
    }
    #expect(read.stdoutLines == found.sorted())
    // Nothing matches: no archive, a 404 that says why.
    let none = try await fixture.authorized("/export?q=zzz-none")
    #expect(none.status == 404)
    #expect(String(decoding: none.body, as: UTF8.self).contains("nothing to export"))
  }

  @Test func everyRouteNeedsTheToken() async throws {
    let fixture = try GalleryFixture.shared()
    let digest = try fixture.digest(ofFile: "sales_chart.png")
    let routes = [
      "/", "/?q=chart", "/problems", "/file/\(GalleryFixture.container)/\(fixture.fileID(named: "sales_chart.png"))",
      "/blob/\(digest)", "/thumb/\(digest).webp", "/export?q=chart", "/static/style.css",
    ]
    let port = fixture.base.split(separator: ":").last!
    for route in routes {
      #expect(try await fixture.get(route).status == 401, "\(route) without a token")
      #expect(
        try await fixture.get(
          route, headers: ["Cookie": "artifacts-token-\(port)=\(String(repeating: "0", count: 64))"]
        )
        .status == 403, "\(route) with a wrong cookie")
      #expect(
        try await fixture.get(route, headers: ["Authorization": "Bearer wrong"]).status == 403, "\(route) wrong bearer")
      let separator = route.contains("?") ? "&" : "?"
      #expect(try await fixture.get(route + separator + "token=wrong").status == 403, "\(route) wrong ?token=")
      #expect(try await fixture.authorized(route).status == 200, "\(route) with the token")
      #expect(
        try await fixture.get(route, headers: ["Cookie": "artifacts-token-\(port)=\(fixture.token)"]).status == 200,
        "\(route) with the cookie")
    }
    // The token in the address becomes a cookie for this port only, and leaves the address.
    let entry = try await fixture.get("/?q=chart&token=\(fixture.token)")
    #expect(entry.status == 303)
    #expect(entry.header("Location") == "/?q=chart")
    let cookie = try #require(entry.header("Set-Cookie"))
    #expect(cookie.hasPrefix("artifacts-token-\(port)=\(fixture.token)"))
    #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
    // The printed address is the loopback one.
    #expect(fixture.address.hasPrefix("http://127.0.0.1:"))
    #expect(fixture.token.count == 64)
  }
}
