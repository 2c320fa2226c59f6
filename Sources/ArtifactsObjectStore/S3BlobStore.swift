// The blob backend in an S3-compatible bucket, laid out as the local store is:
// `PREFIX/blobs/sha256/<first 2 hex>/<64 hex>`. Content addressing does the dedup: a put is
// conditional (`If-None-Match: *`), and a 412 means the bytes are already there. Whether the
// server honours that is checked once per bucket and prefix and remembered there, in
// `PREFIX/artifacts-store.json`; where it does not, each put asks with a HEAD first.
//
// A put is confirmed before it returns (the server's ETag is the MD5 of what was sent, or a
// HEAD after a multipart upload), so a catalog commit that follows never names bytes the
// bucket does not hold. A crash between the two leaves an object nothing names, which `gc`
// removes after its grace period.
import ArtifactsCore
import ArtifactsFetch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case request, missingBlob, damaged, io }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  init(_ error: FetchError) { self.init(.request, error.message) }

  public var description: String { message }
}

public final class S3BlobStore: BlobBackend {
  public let client: ObjectStoreClient
  /// A fresh path where a download is staged while it is hashed (in the local store's `tmp/`,
  /// which is cleared of whatever a killed run left).
  let temporaryPath: @Sendable () throws -> String
  /// Whether the server refuses a conditional write to a key that exists (S3 does; some
  /// look-alikes silently replace the object).
  public let honoursConditionalWrites: Bool

  /// The marker that says the bucket was checked, below the prefix.
  static let markerName = "artifacts-store.json"

  /// Opens the bucket. `forWriting`: check (once per bucket and prefix) that it honours
  /// conditional writes, which also proves the credentials before any file is touched.
  public init(
    client: ObjectStoreClient, forWriting: Bool, temporaryPath: @escaping @Sendable () throws -> String
  ) throws(ObjectStoreError) {
    self.client = client
    self.temporaryPath = temporaryPath
    honoursConditionalWrites = forWriting ? try Self.checkConditionalWrites(client) : true
  }

  public func shutdown() { client.shutdown() }

  var blobsPrefix: String { client.configuration.key("blobs/sha256/") }

  public func key(for digest: Digest) -> String {
    let hex = digest.hex
    return blobsPrefix + hex.prefix(2) + "/" + hex
  }

  public func location(of digest: Digest) -> BlobLocation { .uri(client.uri(key(for: digest))) }

  public func put(stagedPath: String, digest: Digest, size: Int64) throws -> PutOutcome {
    defer { unlink(stagedPath) }
    let key = key(for: digest)
    do throws(FetchError) {
      if !honoursConditionalWrites, try client.head(key) != nil { return PutOutcome(stored: false) }
      let result = try client.put(key, file: stagedPath, size: size, sha256: digest, onlyIfAbsent: true)
      return PutOutcome(stored: result == .stored)
    } catch {
      throw ObjectStoreError(.request, "cannot store \(client.uri(key)): \(error.message)")
    }
  }

  public func contains(_ digest: Digest) throws -> Bool {
    do { return try client.head(key(for: digest)) != nil } catch { throw ObjectStoreError(error) }
  }

  /// Downloads the object to a staging file, hashing it, and hands the bytes on only when they
  /// are the ones named: an object changed behind the tool's back is never served.
  public func read(_ digest: Digest, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let path = try download(digest)
    defer { unlink(path.path) }
    guard path.digest == digest else {
      throw ObjectStoreError(
        .damaged, "\(client.uri(key(for: digest))) holds other bytes than its name says (sha256 \(path.digest.hex))")
    }
    let descriptor = open(path.path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw ObjectStoreError(.io, "cannot open \(path.path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
      if count < 0 {
        if errno == EINTR { continue }
        throw ObjectStoreError(.io, "cannot read \(path.path): \(String(cString: strerror(errno)))")
      }
      if count == 0 { return }
      try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }
  }

  public func verify(_ digest: Digest) throws -> Bool {
    let path = try download(digest)
    unlink(path.path)
    return path.digest == digest
  }

  private func download(_ digest: Digest) throws(ObjectStoreError) -> (path: String, digest: Digest) {
    let key = key(for: digest)
    let path: String
    do { path = try temporaryPath() } catch { throw ObjectStoreError(.io, "\(error)") }
    let download: CompletedDownload?
    do {
      download = try client.get(key, to: path)
    } catch {
      unlink(path)
      throw ObjectStoreError(error)
    }
    guard let download else { throw ObjectStoreError(.missingBlob, "\(client.uri(key)) does not exist") }
    return (path, download.digest)
  }

  public func list() throws -> [StoredBlob] {
    var found: [StoredBlob] = []
    let prefix = blobsPrefix
    do {
      try client.list(prefix: prefix) { page in
        for object in page {
          let rest = object.key.dropFirst(prefix.count)
          let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
          let digest =
            parts.count == 2
            ? Digest(hex: String(parts[1])).flatMap { $0.hex.prefix(2) == parts[0] ? $0 : nil } : nil
          found.append(
            StoredBlob(digest: digest, name: client.uri(object.key), size: object.size, modified: object.modified))
        }
      }
    } catch let error as FetchError {
      throw ObjectStoreError(error)
    }
    return found
  }

  public func remove(_ blob: StoredBlob) throws {
    let bucketURI = client.uri("")
    guard blob.name.hasPrefix(client.uri(blobsPrefix)) else {
      throw ObjectStoreError(.io, "\(blob.name) is not inside the blob store; not removed")
    }
    do { try client.delete(String(blob.name.dropFirst(bucketURI.count))) } catch { throw ObjectStoreError(error) }
  }

  /// Copies the object to `PREFIX/damaged/<hex>.<time>` (kept for inspection), then deletes it.
  public func quarantine(_ digest: Digest) throws {
    let key = key(for: digest)
    let target = client.configuration.key("damaged/\(digest.hex).\(Int(Date().timeIntervalSince1970))")
    do throws(FetchError) {
      guard try client.head(key) != nil else { return }
      try client.copy(key, to: target)
      try client.delete(key)
    } catch {
      throw ObjectStoreError(error)
    }
  }

  // MARK: The first use of a bucket

  /// What the marker says of conditional writes; nil when the bucket and prefix were never
  /// used. Reading it also proves the credentials and that the bucket exists.
  public static func rememberedConditionalWrites(_ client: ObjectStoreClient) throws(ObjectStoreError) -> Bool? {
    let bytes: [UInt8]?
    do {
      bytes = try client.bytes(client.configuration.key(markerName))
    } catch {
      throw ObjectStoreError(.request, "cannot use \(client.configuration.uri): \(error.message)")
    }
    guard let bytes else { return nil }
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
      let honoured = object["conditionalWrites"] as? Bool
    else {
      throw ObjectStoreError(
        .damaged, "\(client.uri(client.configuration.key(markerName))) is not the marker this tool writes")
    }
    return honoured
  }

  /// The answer remembered in the marker, else a probe: the same key written twice with
  /// `If-None-Match: *`, where the second write must be refused with 412.
  static func checkConditionalWrites(_ client: ObjectStoreClient) throws(ObjectStoreError) -> Bool {
    let marker = client.configuration.key(markerName)
    if let honoured = try rememberedConditionalWrites(client) { return honoured }
    do throws(FetchError) {
      let probe = client.configuration.key("probe/if-none-match-\(UUID().uuidString.lowercased())")
      let bytes = Array("probe\n".utf8)
      _ = try client.put(probe, bytes: bytes, onlyIfAbsent: true)
      let second = try client.put(probe, bytes: bytes, onlyIfAbsent: true)
      try client.delete(probe)
      let honoured = second == .alreadyStored
      let record: [String: Any] = [
        "format": 1, "layout": "blobs/sha256/<first 2 hex>/<64 hex>", "conditionalWrites": honoured,
        "checkedAt": ISO8601DateFormatter().string(from: Date()),
      ]
      let json = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
      _ = try client.put(marker, bytes: Array(json) + [0x0A], onlyIfAbsent: false)
      return honoured
    } catch {
      throw ObjectStoreError(.request, "cannot use \(client.configuration.uri): \(error.message)")
    }
  }
}
