// The bytes in an S3 bucket (SeaweedFS, a real S3 server that checks signatures and honours
// If-None-Match), through the built binary: sync, find, cat, export, check, repair, gc,
// import and push, a wrong secret and an object store that goes away mid-run.
import ArtifactsEmulator
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

struct ObjectStoreEndToEndTests {
  let key = "sk-object-store-test"
  let binary = TestPaths.binary("artifacts")

  func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

  /// A container of `count` files (every fifth repeats another's bytes) and a log citing them.
  func corpus(_ emulator: ContainersEmulator, count: Int = 20, container number: Int = 70, size: Int = 3000)
    -> (logs: TemporaryDirectory, contents: [String: [UInt8]])
  {
    var contents: [String: [UInt8]] = [:]
    let files = (0..<count).map { index -> EmulatedFile in
      let seed = index % 5 == 4 ? index - 1 : index
      // Text, so that `cat`'s output can be compared as a string.
      let bytes = Array((0..<((size + seed * 37) / 16)).map { "r\(number),\(seed),\($0)\n" }.joined().utf8)
      contents[FakeID.file(number * 1000 + index)] = bytes
      return EmulatedFile(id: FakeID.file(number * 1000 + index), path: "/mnt/data/table_\(index).csv", bytes: bytes)
    }
    let container = emulator.addContainer(id: FakeID.container(number), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(
        id: FakeID.response(number), container: container, files: files.map { ($0.id, "table_\($0.id).csv") })
        + "\n")
    return (logs, contents)
  }

  func environment(_ emulator: ContainersEmulator, _ server: TestSeaweed, secret: String = TestSeaweed.secretKey)
    -> [String: String]
  {
    server.environment(secret: secret).merging(
      ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL, "NO_COLOR": "1"]) { $1 }
  }

  func json(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
  }

  /// Runs a signed curl upload behind the tool's back and expects S3's 200.
  func expectStored(_ server: TestSeaweed, _ arguments: [String]) throws {
    let answer = try server.s3(arguments)
    #expect(answer.hasPrefix("200"), "\(answer)")
  }

  func localBlobs(_ store: TemporaryDirectory) -> [String] {
    (FileManager.default.subpaths(atPath: store.file("blobs/sha256")) ?? []).filter { $0.contains("/") }
  }

  @Test func syncIntoABucketAndEveryCommandReadsFromIt() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, contents) = corpus(emulator)
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/team"]
    let env = environment(emulator, server)

    let synced = try run(binary, ["sync", "--json"] + blobs + [logs.path], environment: env)
    #expect(synced.status == 0, "\(synced.stderr)")
    let summary = try json(try #require(synced.stdoutLines.last))
    #expect(summary["archived"] as? Int == 20)
    #expect(summary["deduplicated"] as? Int == 4)
    // The bytes are in the bucket, under the local layout, and nowhere in the store directory.
    let distinct = Set(contents.values.map(hex))
    let keys = try server.keys(bucket, prefix: "team/blobs/")
    #expect(Set(keys) == Set(distinct.map { "team/blobs/sha256/\($0.prefix(2))/\($0)" }))
    #expect(localBlobs(store).isEmpty)
    #expect(partialFiles(in: store.file("tmp")).isEmpty)

    // ARTIFACTS_BLOBS does what --blobs does.
    var fromVariable = env
    fromVariable["ARTIFACTS_BLOBS"] = "s3://\(bucket)/team"
    let found = try run(binary, ["find", "--json", "--store", store.path, "table_"], environment: fromVariable)
    #expect(found.status == 0, "\(found.stderr)")
    let rows = try found.stdoutLines.map(json)
    #expect(rows.count == 20)
    for row in rows {
      let digest = try #require(row["sha256"] as? String)
      #expect(row["uri"] as? String == "s3://\(bucket)/team/blobs/sha256/\(digest.prefix(2))/\(digest)")
      #expect(row["path"] == nil)
    }

    let fileID = FakeID.file(70 * 1000 + 7)
    let cat = try run(binary, ["cat"] + blobs + [fileID], environment: env)
    #expect(cat.status == 0, "\(cat.stderr)")
    #expect(hex(Array(cat.stdout.utf8)) == hex(contents[fileID]!))

    let out = TemporaryDirectory("out")
    let exported = try run(binary, ["export"] + blobs + [out.file("all.tar")], environment: env)
    #expect(exported.status == 0, "\(exported.stderr)")
    let listing = try run(
      URL(fileURLWithPath: "/usr/bin/env"),
      [
        "python3", "-c",
        "import sys, tarfile, json, hashlib\nt = tarfile.open(sys.argv[1])\nm = json.load(t.extractfile('MANIFEST.json'))\nfor f in m['entries']:\n    print(f['sha256'] == hashlib.sha256(t.extractfile(f['path']).read()).hexdigest())",
        out.file("all.tar"),
      ])
    #expect(listing.status == 0, "\(listing.stderr)")
    #expect(listing.stdoutLines.count == 20 && listing.stdoutLines.allSatisfy { $0 == "True" }, "\(listing.stdout)")

    let check = try run(binary, ["check", "--read-data"] + blobs, environment: env)
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("Re-hashed: 16 files"), "\(check.stdout)")
  }

  @Test func anObjectChangedInTheBucketIsDamageThatRepairMends() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, contents) = corpus(emulator, count: 6, container: 71)
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/a"]
    let env = environment(emulator, server)
    #expect(try run(binary, ["sync"] + blobs + [logs.path], environment: env).status == 0)

    let victim = hex(contents[FakeID.file(71_000)]!)
    let victimKey = "a/blobs/sha256/\(victim.prefix(2))/\(victim)"
    let scratch = TemporaryDirectory("tamper")
    let tampered = scratch.write("x", "not the original bytes\n")
    try expectStored(server, ["-T", tampered, "\(server.endpoint)/\(bucket)/\(victimKey)"])

    let quick = try run(binary, ["check"] + blobs, environment: env)
    #expect(quick.status == 3, "the size differs: \(quick.stdout)")
    let deep = try run(binary, ["check", "--read-data", "--json"] + blobs, environment: env)
    #expect(deep.status == 3)
    #expect(deep.stdout.contains(FakeID.file(71_000)))
    // Served to no one: cat refuses bytes that are not the ones named.
    let cat = try run(binary, ["cat"] + blobs + [FakeID.file(71_000)], environment: env)
    #expect(cat.status != 0)
    #expect(cat.stdout.isEmpty)

    let repair = try run(binary, ["check", "--read-data", "--repair"] + blobs, environment: env)
    #expect(repair.status == 0, "\(repair.stdout)\(repair.stderr)")
    #expect(try server.keys(bucket, prefix: "a/damaged/").count == 1, "the damaged bytes are kept aside")
    let again = try run(binary, ["check", "--read-data"] + blobs, environment: env)
    #expect(again.status == 0, "\(again.stdout)")
    let restored = try run(binary, ["cat"] + blobs + [FakeID.file(71_000)], environment: env)
    #expect(hex(Array(restored.stdout.utf8)) == victim)
  }

  @Test func gcDeletesOnlyUnreferencedObjectsPastTheGracePeriod() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, _) = corpus(emulator, count: 5, container: 72)
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/g"]
    let env = environment(emulator, server)
    #expect(try run(binary, ["sync"] + blobs + [logs.path], environment: env).status == 0)
    let scratch = TemporaryDirectory("orphan")
    let orphan = scratch.write("x", "left by a crash between upload and commit\n")
    let orphanHex = hex(Array("left by a crash between upload and commit\n".utf8))
    let orphanKey = "g/blobs/sha256/\(orphanHex.prefix(2))/\(orphanHex)"
    try expectStored(server, ["-T", orphan, "\(server.endpoint)/\(bucket)/\(orphanKey)"])
    let before = try server.keys(bucket, prefix: "g/blobs/")

    let young = try run(binary, ["gc", "--apply"] + blobs, environment: env)
    #expect(young.status == 0, "\(young.stderr)")
    #expect(try server.keys(bucket, prefix: "g/blobs/") == before, "inside the grace period nothing goes")

    let dry = try run(binary, ["gc", "--grace", "0s", "--json"] + blobs, environment: env)
    #expect(dry.stdout.contains(orphanKey))
    #expect(try server.keys(bucket, prefix: "g/blobs/") == before, "a dry run deletes nothing")
    let applied = try run(binary, ["gc", "--grace", "0s", "--apply"] + blobs, environment: env)
    #expect(applied.status == 0, "\(applied.stderr)")
    #expect(try server.keys(bucket, prefix: "g/blobs/") == before.filter { $0 != orphanKey })
    #expect(try run(binary, ["check", "--read-data"] + blobs, environment: env).status == 0)
  }

  @Test func pushMakesALocalStoreATeamsAndResumes() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, contents) = corpus(emulator, count: 10, container: 73)
    let store = TemporaryDirectory("store")
    let env = environment(emulator, server)
    #expect(try run(binary, ["sync", "--store", store.path, logs.path], environment: env).status == 0)
    #expect(localBlobs(store).count == 8)

    let noBucket = try run(binary, ["push", "--store", store.path], environment: env)
    #expect(noBucket.status == 1)
    #expect(noBucket.stderr.contains("--blobs"))

    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/p"]
    // A push that stopped half way: some objects are there already.
    let first = hex(contents[FakeID.file(73_000)]!)
    let scratch = TemporaryDirectory("partial")
    let staged = scratch.write("x", Data(contents[FakeID.file(73_000)]!))
    try expectStored(server, ["-T", staged, "\(server.endpoint)/\(bucket)/p/blobs/sha256/\(first.prefix(2))/\(first)"])

    let pushed = try run(binary, ["push", "--json"] + blobs, environment: env)
    #expect(pushed.status == 0, "\(pushed.stderr)")
    let report = try json(try #require(pushed.stdoutLines.last))
    #expect(report["uploaded"] as? Int == 7)
    #expect(report["already_stored"] as? Int == 1)
    #expect(try server.keys(bucket, prefix: "p/blobs/").count == 8)
    let again = try json(try #require(try run(binary, ["push", "--json"] + blobs, environment: env).stdoutLines.last))
    #expect(again["uploaded"] as? Int == 0 && again["already_stored"] as? Int == 8)

    // A damaged local file is not spread.
    let bad = try #require(localBlobs(store).first { !$0.hasSuffix(first) })
    let badPath = store.file("blobs/sha256/\(bad)")
    let bucket2 = try server.makeBucket()
    chmod(badPath, 0o644)
    try Data("rotten".utf8).write(to: URL(fileURLWithPath: badPath))
    let partial = try run(binary, ["push", "--store", store.path, "--blobs", "s3://\(bucket2)/p"], environment: env)
    #expect(partial.status == 3)
    #expect(partial.stderr.contains(String(bad.suffix(64))))
    #expect(try server.keys(bucket2, prefix: "p/blobs/").count == 7)

    // The store reads from the bucket once pushed.
    let check = try run(binary, ["check", "--read-data"] + blobs, environment: env)
    #expect(check.status == 0, "\(check.stdout)")
  }

  @Test func importIntoABucket() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, _) = corpus(emulator, count: 5, container: 74)
    let local = TemporaryDirectory("store")
    let env = environment(emulator, server)
    #expect(try run(binary, ["sync", "--store", local.path, logs.path], environment: env).status == 0)
    let out = TemporaryDirectory("out")
    #expect(try run(binary, ["export", "--store", local.path, out.file("e.tar.gz")], environment: env).status == 0)

    let team = TemporaryDirectory("team")
    let blobs = ["--store", team.path, "--blobs", "s3://\(bucket)/i"]
    let imported = try run(binary, ["import"] + blobs + [out.file("e.tar.gz")], environment: env)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(try server.keys(bucket, prefix: "i/blobs/").count == 4)
    #expect(localBlobs(team).isEmpty)
    #expect(try run(binary, ["check", "--read-data"] + blobs, environment: env).status == 0)
  }

  @Test func aWrongSecretStopsTheRunWithOneMessageAndChangesNoFile() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, _) = corpus(emulator, count: 5, container: 75)
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/w"]
    // Files the catalog knows, waiting.
    #expect(
      try run(binary, ["sync", "--dry-run"] + blobs + [logs.path], environment: environment(emulator, server)).status
        == 0)

    let wrong = "wrong-secret-7d3f9a1c"
    let result = try run(
      binary, ["sync"] + blobs + [logs.path], environment: environment(emulator, server, secret: wrong))
    #expect(result.status == 1)
    let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    #expect(errors.count == 1, "\(result.stderr)")
    #expect(result.stderr.contains("SignatureDoesNotMatch") && result.stderr.contains("AWS_SECRET_ACCESS_KEY"))
    #expect(!(result.stdout + result.stderr).contains(wrong))
    #expect(emulator.requestLog.filter { $0.path.hasSuffix("/content") }.isEmpty, "nothing was downloaded")
    let pending = try run(binary, ["find", "--json", "--state", "pending", "--store", store.path], environment: [:])
    #expect(pending.stdoutLines.count == 5, "\(pending.stdout)\(pending.stderr)")
    let catalog = try Data(contentsOf: URL(fileURLWithPath: store.file("catalog.sqlite")))
    #expect(catalog.range(of: Data(wrong.utf8)) == nil && catalog.range(of: Data(TestSeaweed.secretKey.utf8)) == nil)
  }

  @Test func anObjectStoreThatGoesAwayMidRunLosesNothing() throws {
    // Its own server: this one is stopped and started again.
    let server = try TestSeaweed(in: TemporaryDirectory("seaweed").path)
    defer { server.stop() }
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    emulator.setLatency(0.05)
    let (logs, contents) = corpus(emulator, count: 60, container: 76)
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/d"]
    let env = environment(emulator, server)

    // Stopped a moment into the run, back a few seconds later: uploads are retried with
    // backoff, and the run completes. (Down for good is in ArtifactsKitTests, with a short
    // retry policy.)
    let sync = Process()
    sync.executableURL = binary
    sync.arguments = ["sync", "--json", "--jobs", "2"] + blobs + [logs.path]
    sync.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let output = TemporaryDirectory("output")
    let stdout = output.write("stdout", "")
    sync.standardOutput = FileHandle(forWritingAtPath: stdout)
    sync.standardError = FileHandle.nullDevice
    try sync.run()
    usleep(600_000)
    server.stop()
    sleep(2)
    try server.start()
    sync.waitUntilExit()
    let text = try String(contentsOfFile: stdout, encoding: .utf8)
    #expect(sync.terminationStatus == 0, "\(text.suffix(2000))")
    let summary = try json(try #require(text.split(separator: "\n").last.map(String.init)))
    #expect(summary["archived"] as? Int == 60)
    #expect(summary["lost"] as? Int == 0)
    #expect(try run(binary, ["check", "--read-data"] + blobs, environment: env).status == 0)
    #expect(Set(try server.keys(bucket, prefix: "d/blobs/")).count == Set(contents.values.map(hex)).count)

  }

  @Test func aBucketThatIgnoresConditionalWritesIsSaidAndStillDeduplicates() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let (logs, contents) = corpus(emulator, count: 10, container: 78)
    // As a first sync leaves it on a server that replaced an object a conditional write named.
    let scratch = TemporaryDirectory("marker")
    let marker = scratch.write("m", #"{"conditionalWrites": false, "format": 1}"#)
    try expectStored(server, ["-T", marker, "\(server.endpoint)/\(bucket)/c/artifacts-store.json"])
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/c"]
    let env = environment(emulator, server)
    let synced = try run(binary, ["sync", "--json"] + blobs + [logs.path], environment: env)
    #expect(synced.status == 0, "\(synced.stderr)")
    #expect(synced.stderr.contains("ignores If-None-Match"), "\(synced.stderr)")
    #expect(try json(try #require(synced.stdoutLines.last))["deduplicated"] as? Int == 2)
    #expect(try server.keys(bucket, prefix: "c/blobs/").count == Set(contents.values.map(hex)).count)

    let doctor = try run(binary, ["doctor", "--json"] + blobs, environment: env)
    let finding = try #require(try doctor.stdoutLines.map(json).first { $0["check"] as? String == "blobs" })
    #expect(finding["status"] as? String == "warning", "\(finding)")
  }

  @Test func doctorReadsTheBucketAndNeverShowsTheSecret() throws {
    let server = try TestSeaweed.shared()
    let bucket = try server.makeBucket()
    let emulator = try ContainersEmulator.started(apiKey: key)
    defer { emulator.stop() }
    let store = TemporaryDirectory("store")
    let blobs = ["--store", store.path, "--blobs", "s3://\(bucket)/d"]
    func finding(_ result: ProcessResult) throws -> [String: Any] {
      try #require(try result.stdoutLines.map(json).first { $0["check"] as? String == "blobs" })
    }
    let fresh = try run(binary, ["doctor", "--json"] + blobs, environment: environment(emulator, server))
    #expect(try finding(fresh)["status"] as? String == "ok")
    #expect(try server.keys(bucket).isEmpty, "doctor writes nothing")

    let wrong = "wrong-secret-for-doctor-91b2"
    let rejected = try run(
      binary, ["doctor", "--json"] + blobs, environment: environment(emulator, server, secret: wrong))
    #expect(rejected.status == 1)
    let problem = try finding(rejected)
    #expect(problem["status"] as? String == "problem")
    #expect((problem["message"] as? String ?? "").contains("SignatureDoesNotMatch"), "\(problem)")
    #expect(!(rejected.stdout + rejected.stderr).contains(wrong))

    let missing = try run(
      binary, ["doctor", "--json", "--store", store.path, "--blobs", "s3://no-such-bucket-\(bucket)/d"],
      environment: environment(emulator, server))
    #expect(try (finding(missing)["message"] as? String ?? "").contains("NoSuchBucket"))
  }
}
