// Real servers for the network tests, started on 127.0.0.1 with free ports and stopped after:
// nginx terminating TLS (HTTP/2 or HTTP/1.1 only) in front of the emulator, squid as a forward
// proxy (with or without credentials), and a certificate authority made with openssl.
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A port nothing listens on right now (bound to port 0, then released).
public func freePort() -> Int {
  let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(descriptor) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  _ = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
  }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts connections on the port (a server that has started).
public func waitForPort(_ port: Int, timeout: Double = 20) -> Bool {
  let end = Date().addingTimeInterval(timeout)
  while Date() < end {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    close(descriptor)
    if connected == 0 { return true }
    usleep(50_000)
  }
  return false
}

/// SIGTERM, then SIGKILL if it has not gone within two seconds (squid takes its time).
func stopProcess(_ process: Process) {
  guard process.isRunning else { return }
  process.terminate()
  let end = Date().addingTimeInterval(2)
  while process.isRunning && Date() < end { usleep(20_000) }
  if process.isRunning { kill(process.processIdentifier, SIGKILL) }
  process.waitUntilExit()
}

/// Runs a command to its end; throws with its output when it fails.
@discardableResult
public func shell(_ command: String) throws -> String {
  let result = try run(URL(fileURLWithPath: "/bin/sh"), ["-c", command])
  guard result.status == 0 else {
    throw TestServerError("`\(command)` failed (\(result.status)): \(result.stderr)\(result.stdout)")
  }
  return result.stdout
}

public struct TestServerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A certificate authority and certificates it signs, in a folder of their own.
public struct TestCA: Sendable {
  public let directory: String
  public var certificate: String { directory + "/ca.pem" }

  public init(in directory: String) throws {
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try shell(
      "cd '\(directory)' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        + "-subj '/CN=artifacts test CA' 2>&1")
  }

  /// A server certificate for `names` (DNS names or IP addresses); returns (certificate, key).
  public func issue(_ label: String, names: [String]) throws -> (certificate: String, key: String) {
    let alternatives = names.map { $0.first?.isNumber == true ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
    try shell(
      "cd '\(directory)' && openssl req -newkey rsa:2048 -nodes -keyout \(label).key -out \(label).csr "
        + "-subj '/CN=\(names[0])' 2>&1 && printf 'subjectAltName=\(alternatives)' > \(label).ext && "
        + "openssl x509 -req -in \(label).csr -CA ca.pem -CAkey ca.key -CAcreateserial -out \(label).pem -days 2 "
        + "-extfile \(label).ext 2>&1")
    return (directory + "/\(label).pem", directory + "/\(label).key")
  }

  /// A certificate for `names` that expired in 2020 (`openssl ca` can date one in the past).
  public func issueExpired(_ label: String, names: [String]) throws -> (certificate: String, key: String) {
    let alternatives = names.map { $0.first?.isNumber == true ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
    let configuration = """
      [ca]
      default_ca = test
      [test]
      dir = .
      database = index.txt
      serial = serial
      new_certs_dir = .
      certificate = ca.pem
      private_key = ca.key
      default_md = sha256
      policy = anything
      copy_extensions = copy
      [anything]
      commonName = supplied
      """
    try configuration.write(toFile: directory + "/ca.cnf", atomically: true, encoding: .utf8)
    try shell(
      "cd '\(directory)' && : > index.txt && echo 01 > serial && "
        + "openssl req -newkey rsa:2048 -nodes -keyout \(label).key -out \(label).csr -subj '/CN=\(names[0])' "
        + "-addext 'subjectAltName=\(alternatives)' 2>&1 && openssl ca -batch -config ca.cnf "
        + "-startdate 20200101000000Z -enddate 20200102000000Z -in \(label).csr -out \(label).pem 2>&1")
    return (directory + "/\(label).pem", directory + "/\(label).key")
  }
}

/// nginx in front of a backend: TLS with HTTP/2 (or HTTP/1.1 only), or a redirect elsewhere.
public final class TestNginx: @unchecked Sendable {
  public let port: Int
  public let directory: String
  private let process: Process
  public var accessLog: String { directory + "/access.log" }

  public enum Mode {
    case proxy(backendPort: Int)
    /// Answers every request with 302 to the same path on `target`.
    case redirect(target: String)
  }

  public init(
    in directory: String, certificate: String, key: String, http2: Bool = true, mode: Mode
  ) throws {
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
    port = freePort()
    let location: String
    switch mode {
    case .proxy(let backend):
      location = """
        proxy_pass http://127.0.0.1:\(backend);
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_buffering off;
        """
    case .redirect(let target):
      location = "return 302 \(target)$request_uri;"
    }
    let configuration = """
      user root;
      daemon off;
      worker_processes 1;
      pid \(directory)/nginx.pid;
      error_log \(directory)/error.log info;
      events { worker_connections 256; }
      http {
        log_format connections '$connection $server_protocol $status $request_method $uri';
        access_log \(directory)/access.log connections;
        client_body_temp_path \(directory)/tmp/body;
        proxy_temp_path \(directory)/tmp/proxy;
        fastcgi_temp_path \(directory)/tmp/fastcgi;
        uwsgi_temp_path \(directory)/tmp/uwsgi;
        scgi_temp_path \(directory)/tmp/scgi;
        server {
          listen 127.0.0.1:\(port) ssl\(http2 ? " http2" : "");
          ssl_certificate \(certificate);
          ssl_certificate_key \(key);
          keepalive_requests 100000;
          http2_max_requests 100000;
          location / {
            \(location)
          }
        }
      }
      """
    try configuration.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
    process.arguments = ["-c", directory + "/nginx.conf", "-p", directory, "-e", directory + "/error.log"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    guard waitForPort(port) else {
      let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
      stop()
      throw TestServerError("nginx did not start: \(log)")
    }
  }

  /// Lines of the access log: `connection protocol status method uri`.
  public func requests() -> [[String]] {
    let text = (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
  }

  public func stop() {
    stopProcess(process)
  }

  deinit { stop() }
}

/// squid as a forward proxy, logging every request with its headers (so a key sent through it
/// in clear text would show).
public final class TestSquid: @unchecked Sendable {
  public let port: Int
  public let directory: String
  private let process: Process
  public var accessLog: String { directory + "/access.log" }

  /// A name only this squid resolves (to 127.0.0.1): the API's host as the tests reach it
  /// through the proxy (a loopback name would never go through one).
  public static let apiHost = "api.artifacts.test"

  /// With `credentials` ("user:password"), clients must authenticate (407 otherwise). With
  /// `tls`, clients reach the proxy itself over TLS (an HTTPS proxy) with that certificate.
  public init(in directory: String, credentials: String? = nil, tls: (certificate: String, key: String)? = nil) throws {
    self.isTLS = tls != nil
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    port = freePort()
    var authentication = ""
    var access = "http_access allow localhost_clients"
    if let credentials {
      let parts = credentials.split(separator: ":", maxSplits: 1).map(String.init)
      let hash = try shell("openssl passwd -apr1 '\(parts[1])'").trimmingCharacters(in: .whitespacesAndNewlines)
      try "\(parts[0]):\(hash)\n".write(toFile: directory + "/passwd", atomically: true, encoding: .utf8)
      authentication = """
        auth_param basic program /usr/lib/squid/basic_ncsa_auth \(directory)/passwd
        auth_param basic realm artifacts-test
        acl authenticated proxy_auth REQUIRED
        """
      access = "http_access allow localhost_clients authenticated"
    }
    let listenPort = port
    let listen =
      tls.map { "https_port 127.0.0.1:\(listenPort) tls-cert=\($0.certificate) tls-key=\($0.key)" }
      ?? "http_port 127.0.0.1:\(listenPort)"
    let configuration = """
      \(listen)
      hosts_file \(directory)/hosts
      pid_filename \(directory)/squid.pid
      logformat withheaders %ts.%03tu %>a %rm %ru %>Hs [%>h]
      access_log stdio:\(directory)/access.log withheaders
      cache_log \(directory)/cache.log
      cache_store_log none
      cache deny all
      coredump_dir \(directory)
      shutdown_lifetime 0 seconds
      acl localhost_clients src 127.0.0.1/32
      \(authentication)
      \(access)
      http_access deny all
      """
    try configuration.write(toFile: directory + "/squid.conf", atomically: true, encoding: .utf8)
    try "127.0.0.1 localhost \(Self.apiHost)\n".write(toFile: directory + "/hosts", atomically: true, encoding: .utf8)
    // squid drops to the `proxy` user: its folder (and a key it reads) must be that user's.
    try shell("chown -R proxy '\(directory)' && chmod 755 '\(directory)'")
    if let tls { try shell("chmod 644 '\(tls.key)' '\(tls.certificate)' && chmod o+x \"$(dirname '\(tls.key)')\"") }
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/squid")
    process.arguments = ["-N", "-f", directory + "/squid.conf"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    guard waitForPort(port, timeout: 30) else {
      let log = (try? String(contentsOfFile: directory + "/cache.log", encoding: .utf8)) ?? ""
      stop()
      throw TestServerError("squid did not start: \(log)")
    }
  }

  private let isTLS: Bool
  public var url: String { "\(isTLS ? "https" : "http")://127.0.0.1:\(port)" }

  public var log: String { (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "" }

  public func stop() {
    stopProcess(process)
  }

  deinit { stop() }
}
