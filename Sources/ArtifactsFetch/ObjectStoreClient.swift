// S3's object operations over the transfer engine: libcurl signs every request (SigV4),
// uploads stream from their file in bounded memory, downloads stream to a file while they are
// hashed, and every request is retried as the API's are. The calls block the calling thread
// (a Dispatch worker, never one of Swift's cooperative threads) until the answer is in.
import ArtifactsCore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An object as a listing or a HEAD describes it.
public struct ObjectInfo: Sendable, Equatable {
  public var key: String
  public var size: Int64
  public var modified: Date
  public var etag: String?
}

public enum ObjectPutResult: Sendable, Equatable {
  case stored
  /// The key already held an object and the write was conditional (`If-None-Match: *`).
  case alreadyStored
}

public final class ObjectStoreClient: Sendable {
  /// Objects larger than this go up in parts of this size (S3 allows 5 MiB to 5 GiB parts and
  /// up to 10,000 of them: 640 GiB).
  public static let defaultPartSize: Int64 = 64 << 20
  /// Parts in flight at once for one object.
  static let partsAtOnce = 4

  public let configuration: ObjectStoreConfiguration
  public let partSize: Int64
  private let maximumConcurrent: Int
  private let policy: RetryPolicy
  /// Started by the first request: a command that only reads the catalog (`find`) never loads
  /// libcurl or starts a thread for the bucket.
  private let started = Locked<TransferEngine?>(nil)

  public init(
    configuration: ObjectStoreConfiguration, maximumConcurrent: Int = 16, policy: RetryPolicy = RetryPolicy(),
    partSize: Int64 = ObjectStoreClient.defaultPartSize
  ) {
    self.configuration = configuration
    self.partSize = max(5 << 20, partSize)
    self.maximumConcurrent = maximumConcurrent
    self.policy = policy
  }

  deinit { shutdown() }

  /// Lets running requests finish and stops the engine's thread (a second call returns at once).
  public func shutdown() { started.withLock { $0 }?.shutdown() }

  private func engine() throws(FetchError) -> TransferEngine {
    let result: Result<TransferEngine, FetchError> = started.withLock { engine in
      if let engine { return .success(engine) }
      do throws(FetchError) {
        let made = try TransferEngine(
          endpoint: configuration.endpoint, api: nil, maximumConcurrent: maximumConcurrent, policy: policy,
          onRetry: nil)
        engine = made
        return .success(made)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// `s3://BUCKET/KEY`.
  public func uri(_ key: String) -> String { "s3://\(configuration.bucket)/\(key)" }

  // MARK: Objects

  /// What the key holds, or nil when it holds nothing.
  public func head(_ key: String) throws(FetchError) -> ObjectInfo? {
    let response = try memory(TransferRequest(method: .head, url: url(key), target: .memory, answers: [404]))
    guard response.status != 404 else { return nil }
    return ObjectInfo(
      key: key, size: response.headers["content-length"].flatMap(Int64.init) ?? 0,
      modified: response.headers["last-modified"].flatMap(HTTPDate.parse) ?? Date(timeIntervalSince1970: 0),
      etag: response.headers["etag"])
  }

  /// Uploads `size` bytes of the file at `path` to `key`; in parts when it is larger than
  /// `partSize`. `sha256`, when known, is signed as the payload's hash (S3 itself then checks
  /// the bytes). `onlyIfAbsent`: never replaces an object (`If-None-Match: *`).
  public func put(
    _ key: String, file path: String, size: Int64, sha256: Digest? = nil, onlyIfAbsent: Bool
  ) throws(FetchError) -> ObjectPutResult {
    if size > partSize { return try putInParts(key, file: path, size: size, onlyIfAbsent: onlyIfAbsent) }
    var headers = ["Content-Type: application/octet-stream"]
    if let sha256 { headers.append("x-amz-content-sha256: \(sha256.hex)") }
    if onlyIfAbsent { headers.append("If-None-Match: *") }
    let response = try memory(
      TransferRequest(
        method: .put, url: url(key), headers: headers, body: .file(path: path, offset: 0, length: size),
        target: .memory, answers: [412]))
    return response.status == 412 ? .alreadyStored : .stored
  }

  /// A small object from memory.
  public func put(_ key: String, bytes: [UInt8], onlyIfAbsent: Bool) throws(FetchError) -> ObjectPutResult {
    let path = try Self.temporaryCopy(of: bytes)
    defer { unlink(path) }
    return try put(key, file: path, size: Int64(bytes.count), onlyIfAbsent: onlyIfAbsent)
  }

  /// Downloads `key` into `path` (created or truncated), hashing it on the way; nil when the
  /// key holds nothing.
  public func get(_ key: String, to path: String) throws(FetchError) -> CompletedDownload? {
    let result = try run(TransferRequest(url: url(key), target: .file(path: path), answers: [404]))
    guard case .file(let download) = result else {
      throw FetchError(.transport, "internal error: GET \(url(key)) answered in memory")
    }
    if download.status == 404 {
      unlink(path)
      return nil
    }
    return download
  }

  /// A small object's bytes (up to 16 MiB), or nil when the key holds nothing.
  public func bytes(_ key: String) throws(FetchError) -> [UInt8]? {
    let response = try memory(TransferRequest(url: url(key), target: .memory, answers: [404]))
    return response.status == 404 ? nil : response.body
  }

  /// Deletes `key`; deleting what is not there is not an error (S3 answers 204 either way).
  public func delete(_ key: String) throws(FetchError) {
    _ = try memory(TransferRequest(method: .delete, url: url(key), target: .memory, answers: [404]))
  }

  /// Copies `source` to `destination` inside the bucket, on the server.
  public func copy(_ source: String, to destination: String) throws(FetchError) {
    let response = try memory(
      TransferRequest(
        method: .put, url: url(destination),
        headers: ["x-amz-copy-source: /\(configuration.bucket)/\(source)"], target: .memory))
    // S3 may answer 200 and put the failure in the body.
    if let error = S3ErrorBody(response.body) {
      throw FetchError(.request, "copying \(uri(source)) to \(uri(destination)): \(error.code): \(error.message)")
    }
  }

  /// Every object whose key starts with `prefix`, a page (up to 1,000 keys) at a time.
  public func list(prefix: String, pageSize: Int = 1000, _ body: ([ObjectInfo]) throws -> Void) throws {
    var token: String?
    repeat {
      var query = [("list-type", "2"), ("max-keys", "\(pageSize)"), ("prefix", prefix)]
      if let token { query.insert(("continuation-token", token), at: 0) }
      let response = try memory(TransferRequest(url: bucketURL(query: query), target: .memory))
      let text = String(decoding: response.body, as: UTF8.self)
      let page = XMLText.elements("Contents", in: text).compactMap { element -> ObjectInfo? in
        guard let key = XMLText.first("Key", in: element) else { return nil }
        return ObjectInfo(
          key: key, size: XMLText.first("Size", in: element).flatMap(Int64.init) ?? 0,
          modified: XMLText.first("LastModified", in: element).flatMap(Self.parseISODate)
            ?? Date(timeIntervalSince1970: 0),
          etag: XMLText.first("ETag", in: element))
      }
      try body(page)
      let truncated = XMLText.first("IsTruncated", in: text) == "true"
      token = truncated ? XMLText.first("NextContinuationToken", in: text) : nil
      if truncated && token == nil {
        throw FetchError(.request, "the listing of \(uri(prefix)) is truncated but gives no continuation token")
      }
    } while token != nil
  }

  // MARK: Multipart upload

  /// Create, parts (a few at once, each streamed from its range of the file and checked
  /// against its ETag), complete, then a HEAD to confirm the size. Any failure aborts the
  /// upload so no parts are left behind.
  func putInParts(_ key: String, file path: String, size: Int64, onlyIfAbsent: Bool) throws(FetchError)
    -> ObjectPutResult
  {
    // A conditional complete is not honoured everywhere: ask first. Identical content makes
    // a race between two writers harmless.
    if onlyIfAbsent, try head(key) != nil { return .alreadyStored }
    let created = try memory(
      TransferRequest(method: .post, url: url(key, query: [("uploads", "")]), body: .bytes([]), target: .memory))
    guard let uploadID = XMLText.first("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
      throw FetchError(.request, "POST \(url(key))?uploads answered no UploadId")
    }
    do throws(FetchError) {
      let tags = try uploadParts(key, uploadID: uploadID, file: path, size: size)
      var xml = "<CompleteMultipartUpload>"
      for (index, tag) in tags.enumerated() {
        xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(XMLText.escape(tag))</ETag></Part>"
      }
      xml += "</CompleteMultipartUpload>"
      let completed = try memory(
        TransferRequest(
          method: .post, url: url(key, query: [("uploadId", uploadID)]), headers: ["Content-Type: application/xml"],
          body: .bytes(Array(xml.utf8)), target: .memory))
      if let error = S3ErrorBody(completed.body) {
        throw FetchError(.request, "completing the upload of \(uri(key)): \(error.code): \(error.message)")
      }
    } catch {
      _ = try? memory(
        TransferRequest(
          method: .delete, url: url(key, query: [("uploadId", uploadID)]), target: .memory, answers: [404]))
      throw error
    }
    guard let stored = try head(key), stored.size == size else {
      throw FetchError(.request, "\(uri(key)) does not hold the \(size) bytes just uploaded")
    }
    return .stored
  }

  private func uploadParts(_ key: String, uploadID: String, file path: String, size: Int64) throws(FetchError)
    -> [String]
  {
    let count = Int((size + partSize - 1) / partSize)
    let engine = try engine()
    let results = Locked<[Int: Result<String, FetchError>]>([:])
    let slots = DispatchSemaphore(value: Self.partsAtOnce)
    let group = DispatchGroup()
    for index in 0..<count {
      slots.wait()
      if results.withLock({ $0.values.contains { if case .failure = $0 { true } else { false } } }) {
        slots.signal()
        break
      }
      let offset = Int64(index) * partSize
      let request = TransferRequest(
        method: .put, url: url(key, query: [("partNumber", "\(index + 1)"), ("uploadId", uploadID)]),
        headers: ["x-amz-content-sha256: UNSIGNED-PAYLOAD"],
        body: .file(path: path, offset: offset, length: min(partSize, size - offset)), target: .memory)
      group.enter()
      engine.submit(subject: nil, request) { outcome in
        let result: Result<String, FetchError>
        switch outcome {
        case .completed(.memory(let response)):
          if let tag = response.headers["etag"] {
            result = .success(tag)
          } else {
            result = .failure(FetchError(.request, "\(request.line) answered no ETag"))
          }
        case .completed(.file): result = .failure(FetchError(.transport, "internal error: a part answered in a file"))
        case .unarchived(let reason): result = .failure(FetchError(.request, reason.message))
        case .cancelled: result = .failure(self.stopped(request, engine: engine))
        }
        results.withLock { $0[index] = result }
        slots.signal()
        group.leave()
      }
    }
    group.wait()
    let finished = results.withLock { $0 }
    var tags: [String] = []
    for index in 0..<count {
      switch finished[index] {
      case .success(let tag): tags.append(tag)
      case .failure(let error): throw error
      case nil: throw finished.values.compactMap { if case .failure(let error) = $0 { error } else { nil } }.first!
      }
    }
    return tags
  }

  // MARK: Requests

  private func run(_ request: TransferRequest) throws(FetchError) -> TransferResult {
    let engine = try engine()
    switch engine.perform(request) {
    case .completed(let result): return result
    case .unarchived(let reason): throw FetchError(.request, reason.message)
    case .cancelled: throw stopped(request, engine: engine)
    }
  }

  private func memory(_ request: TransferRequest) throws(FetchError) -> FetchedResponse {
    guard case .memory(let response) = try run(request) else {
      throw FetchError(.transport, "internal error: \(request.line) answered in a file")
    }
    return response
  }

  /// Why a request was not carried out: the engine stopped on a failure true of every request.
  private func stopped(_ request: TransferRequest, engine: TransferEngine) -> FetchError {
    engine.fatalError
      ?? FetchError(.transport, "\(request.line) was not carried out: the object store client is stopping")
  }

  func url(_ key: String, query: [(String, String)] = []) -> String {
    configuration.bucketURL + "/" + key + Self.queryString(query)
  }

  func bucketURL(query: [(String, String)]) -> String {
    configuration.bucketURL + (configuration.pathStyle ? "" : "/") + Self.queryString(query)
  }

  /// Sorted by name and escaped as SigV4's canonical form has it, so the URL is its own
  /// canonical query (libcurl signs the query as it is given).
  static func queryString(_ query: [(String, String)]) -> String {
    guard !query.isEmpty else { return "" }
    return "?"
      + query.sorted { $0.0 < $1.0 }.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
  }

  static func escape(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "~"):
        result.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        result += String(format: "%%%02X", byte)
      }
    }
    return result
  }

  /// `2026-12-02T07:21:35Z`, with or without fractional seconds.
  static func parseISODate(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
  }

  static func temporaryCopy(of bytes: [UInt8]) throws(FetchError) -> String {
    let path = NSTemporaryDirectory() + "artifacts-object-\(getpid())-\(UUID().uuidString.lowercased())"
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    else { throw FetchError(.transport, "cannot write \(path)") }
    return path
  }
}

/// A value shared between the threads of one call.
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<T>(_ body: (inout Value) -> T) -> T {
    lock.withLock { body(&value) }
  }
}
