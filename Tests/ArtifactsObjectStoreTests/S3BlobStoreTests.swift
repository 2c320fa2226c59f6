import ArtifactsCore
import ArtifactsFetch
import ArtifactsTestSupport
import Crypto
import Foundation
import Testing

@testable import ArtifactsObjectStore

#if canImport(Glibc)
  import Glibc
#endif

func seaweed() throws -> TestSeaweed { try TestSeaweed.shared() }

func client(
  _ server: TestSeaweed, bucket: String, prefix: String = "archive", secret: String = TestSeaweed.secretKey,
  partSize: Int64 = ObjectStoreClient.defaultPartSize,
  policy: RetryPolicy = RetryPolicy(maximumAttempts: 2, baseDelay: 0.05)
) throws -> ObjectStoreClient {
  let configuration = try ObjectStoreConfiguration.fromEnvironment(
    server.environment(secret: secret), location: "s3://\(bucket)/\(prefix)", userAgent: "artifacts-tests")
  return ObjectStoreClient(configuration: configuration, maximumConcurrent: 8, policy: policy, partSize: partSize)
}

func blobStore(_ client: ObjectStoreClient, in directory: TemporaryDirectory) throws -> S3BlobStore {
  let path = directory.path
  return try S3BlobStore(client: client, forWriting: true) { path + "/read-\(UUID().uuidString)" }
}

/// A staged file of `bytes`, as the pipeline hands one over.
func staged(_ bytes: [UInt8], in directory: TemporaryDirectory) -> (path: String, digest: ArtifactsCore.Digest) {
  let path = directory.write("staged-\(UUID().uuidString)", Data(bytes))
  return (path, ArtifactsCore.Digest(bytes: SHA256.hash(data: bytes)))
}

@Suite("S3 blob store (SeaweedFS)", .serialized)
struct S3BlobStoreTests {
  @Test func configurationReadsTheAWSVariablesAndNeverShowsTheSecret() throws {
    let configuration = try ObjectStoreConfiguration.fromEnvironment(
      [
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE1234", "AWS_SECRET_ACCESS_KEY": "very-secret-value",
        "AWS_DEFAULT_REGION": "eu-west-3",
      ], location: "s3://team-archive/artifacts/prod/", userAgent: "t")
    #expect(configuration.bucket == "team-archive")
    #expect(configuration.prefix == "artifacts/prod")
    #expect(configuration.region == "eu-west-3")
    #expect(configuration.endpointURL == "https://s3.eu-west-3.amazonaws.com")
    #expect(!configuration.pathStyle)
    #expect(configuration.bucketURL == "https://team-archive.s3.eu-west-3.amazonaws.com")
    #expect(!configuration.description.contains("very-secret-value"))
    #expect(!configuration.description.contains("AKIDEXAMPLE1234"))
    #expect(configuration.key("blobs/x") == "artifacts/prod/blobs/x")

    #expect(throws: FetchError.self) {
      try ObjectStoreConfiguration.fromEnvironment([:], location: "s3://bucket/p", userAgent: "t")
    }
    for bad in ["s3://Bucket/p", "s3://b/p", "s3://bucket/../x", "s3://bucket/a%2Fb", "gs://bucket/p"] {
      #expect(throws: FetchError.self, "\(bad)") {
        try ObjectStoreConfiguration.fromEnvironment(
          ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], location: bad, userAgent: "t")
      }
    }
    // A session token travels as it is: not over plain http to another machine.
    #expect(throws: FetchError.self) {
      try ObjectStoreConfiguration.fromEnvironment(
        [
          "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_SESSION_TOKEN": "token",
          "AWS_ENDPOINT_URL": "http://storage.example.com",
        ], location: "s3://bucket/p", userAgent: "t")
    }
  }

  @Test func putIsConditionalAndDeduplicates() throws {
    let server = try seaweed()
    let bucket = try server.makeBucket()
    let directory = try TemporaryDirectory()
    let store = try blobStore(try client(server, bucket: bucket), in: directory)
    #expect(store.honoursConditionalWrites)
    #expect(try server.keys(bucket).contains("archive/artifacts-store.json"))

    let bytes = Array("a chart, in bytes\n".utf8)
    let first = staged(bytes, in: directory)
    #expect(try store.put(stagedPath: first.path, digest: first.digest, size: Int64(bytes.count)).stored)
    #expect(access(first.path, F_OK) != 0, "the staged file is consumed")
    let second = staged(bytes, in: directory)
    #expect(try !store.put(stagedPath: second.path, digest: second.digest, size: Int64(bytes.count)).stored)
    #expect(try store.contains(first.digest))
    let hex = first.digest.hex
    #expect(try server.keys(bucket, prefix: "archive/blobs/").contains("archive/blobs/sha256/\(hex.prefix(2))/\(hex)"))
    #expect(store.location(of: first.digest) == .uri("s3://\(bucket)/archive/blobs/sha256/\(hex.prefix(2))/\(hex)"))

    var read: [UInt8] = []
    try store.read(first.digest) { read.append(contentsOf: $0) }
    #expect(read == bytes)
    #expect(try store.verify(first.digest))
    let listed = try store.list()
    #expect(listed.map(\.digest) == [first.digest])
    #expect(listed.first?.size == Int64(bytes.count))
  }

  @Test func anObjectChangedBehindTheToolsBackIsDamage() throws {
    let server = try seaweed()
    let bucket = try server.makeBucket()
    let directory = try TemporaryDirectory()
    let objects = try client(server, bucket: bucket)
    let store = try blobStore(objects, in: directory)
    let bytes = Array("original\n".utf8)
    let file = staged(bytes, in: directory)
    _ = try store.put(stagedPath: file.path, digest: file.digest, size: Int64(bytes.count))
    _ = try objects.put(store.key(for: file.digest), bytes: Array("tampered\n".utf8), onlyIfAbsent: false)

    #expect(try !store.verify(file.digest))
    #expect(throws: ObjectStoreError.self) { try store.read(file.digest) { _ in } }
    try store.quarantine(file.digest)
    #expect(try !store.contains(file.digest))
    #expect(try server.keys(bucket, prefix: "archive/damaged/").count == 1)
  }

  @Test func listingPagesAndRemovingStrays() throws {
    let server = try seaweed()
    let bucket = try server.makeBucket()
    let directory = try TemporaryDirectory()
    let objects = try client(server, bucket: bucket)
    let store = try blobStore(objects, in: directory)
    var digests: Set<ArtifactsCore.Digest> = []
    for index in 0..<30 {
      let bytes = Array("blob \(index)\n".utf8)
      let file = staged(bytes, in: directory)
      _ = try store.put(stagedPath: file.path, digest: file.digest, size: Int64(bytes.count))
      digests.insert(file.digest)
    }
    _ = try objects.put("archive/blobs/sha256/zz/not-a-digest", bytes: [1, 2, 3], onlyIfAbsent: false)
    var pages = 0
    var keys = 0
    try objects.list(prefix: "archive/blobs/", pageSize: 7) { page in
      pages += 1
      keys += page.count
    }
    #expect(pages == 5)
    #expect(keys == 31)
    let listed = try store.list()
    #expect(Set(listed.compactMap(\.digest)) == digests)
    let stray = try #require(listed.first { $0.digest == nil })
    #expect(stray.name == "s3://\(bucket)/archive/blobs/sha256/zz/not-a-digest")
    try store.remove(stray)
    #expect(try store.list().count == 30)
    #expect(throws: ObjectStoreError.self) {
      try store.remove(
        StoredBlob(digest: nil, name: "s3://\(bucket)/archive/artifacts-store.json", size: 0, modified: Date()))
    }
  }

  @Test func largeFilesGoUpInPartsAndComeBackWhole() throws {
    let server = try seaweed()
    let bucket = try server.makeBucket()
    let directory = try TemporaryDirectory()
    let objects = try client(server, bucket: bucket, partSize: 5 << 20)
    let store = try blobStore(objects, in: directory)
    var generator = SeededGenerator(seed: 14)
    let bytes = (0..<(12 << 20) + 1234).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let file = staged(bytes, in: directory)
    #expect(try store.put(stagedPath: file.path, digest: file.digest, size: Int64(bytes.count)).stored)
    #expect(try objects.head(store.key(for: file.digest))?.size == Int64(bytes.count))
    #expect(try store.verify(file.digest))
    // The same bytes again: found by the HEAD before any part is sent.
    let again = staged(bytes, in: directory)
    #expect(try !store.put(stagedPath: again.path, digest: again.digest, size: Int64(bytes.count)).stored)
  }

  @Test func aWrongSecretIsOneClearMessageThatNeverShowsTheSecret() throws {
    let server = try seaweed()
    let bucket = try server.makeBucket()
    let wrong = "wrong-secret-4f9c2e7d1a"
    let objects = try client(server, bucket: bucket, secret: wrong)
    do {
      _ = try S3BlobStore(client: objects, forWriting: true) { "/nonexistent" }
      Issue.record("a wrong secret was accepted")
    } catch {
      let message = "\(error)"
      #expect(message.contains("SignatureDoesNotMatch"), "\(message)")
      #expect(message.contains("AWS_SECRET_ACCESS_KEY"), "\(message)")
      #expect(!message.contains(wrong))
    }
  }

  @Test func aMissingBucketAndNothingListeningStopAtOnce() throws {
    let server = try seaweed()
    do {
      _ = try S3BlobStore(client: try client(server, bucket: "no-such-bucket-here"), forWriting: true) { "/x" }
      Issue.record("a missing bucket was accepted")
    } catch {
      #expect("\(error)".contains("NoSuchBucket"), "\(error)")
    }
    let nothing = try ObjectStoreConfiguration.fromEnvironment(
      [
        "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(freePort())",
      ], location: "s3://bucket/p", userAgent: "t")
    let down = ObjectStoreClient(
      configuration: nothing, policy: RetryPolicy(maximumAttempts: 4, baseDelay: 0.01, maximumDelay: 0.02))
    do {
      _ = try S3BlobStore(client: down, forWriting: true) { "/x" }
      Issue.record("an endpoint where nothing listens was accepted")
    } catch {
      #expect("\(error)".contains("AWS_ENDPOINT_URL_S3"), "\(error)")
    }
  }
}
