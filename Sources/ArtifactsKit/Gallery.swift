// What the web gallery asks of the archive: pages of files, one file with its citations, a
// preview of its contents as data (never as markup), thumbnails made once per digest and kept
// in the store, the bytes themselves and an export, both as streams of chunks an HTTP server
// can write as they come.
import ArtifactsCore
import ArtifactsExport
import ArtifactsImages
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

public struct Gallery: Sendable {
  public let store: ArtifactStore
  let thumbnailer: Thumbnailer
  /// libvips decodes with the CPU: at most this many thumbnails are made at once.
  private let thumbnailSlots: CountingSlots

  public init(store: ArtifactStore, thumbnailer: Thumbnailer = Thumbnailer(), concurrentThumbnails: Int = 2) {
    self.store = store
    self.thumbnailer = thumbnailer
    thumbnailSlots = CountingSlots(concurrentThumbnails)
  }

  public struct Page: Sendable {
    public var files: [FileRecord]
    /// Whether another page follows.
    public var hasMore: Bool
  }

  /// `size` files of `query`'s selection after skipping `offset`: fetches one more to know
  /// whether a next page exists, never a count of every match.
  public func page(_ query: FindQuery, offset: Int, size: Int) async throws(KitError) -> Page {
    var query = query
    query.offset = max(0, offset)
    query.limit = size + 1
    let files = try await Browse(store: store).find(query)
    return Page(files: Array(files.prefix(size)), hasMore: files.count > size)
  }

  /// The file `fileID` in `containerID`, with every citation; nil when the catalog has none.
  public func file(containerID: String, fileID: String) async throws(KitError) -> FileRecord? {
    let store = self.store
    return try await blocking { () throws(KitError) in
      let files = try backend { try store.catalog.lookup(fileID) }
      return files.first { $0.containerID == containerID && $0.fileID == fileID }
        .map { FileRecord($0, location: $0.digest.map(store.blobs.location)) }
    }
  }

  /// Archived files whose bytes are `digest` (the names it was archived under).
  public func files(withDigest digest: Digest) async throws(KitError) -> [FileRecord] {
    let store = self.store
    return try await blocking { () throws(KitError) in
      try backend { try store.catalog.files(withDigests: [digest]) }
        .filter { $0.state == .archived }
        .map { FileRecord($0, location: store.blobs.location(of: digest)) }
    }
  }

  /// How many files are in one of `states` (the page header's count of lost and failed).
  public func count(in states: Set<FileState>) async throws(KitError) -> Int {
    let store = self.store
    return try await blocking { () throws(KitError) in try backend { try store.catalog.count(in: states) } }
  }

  // MARK: Previews

  public enum Preview: Sendable, Equatable {
    /// A raster image (PNG, JPEG, GIF, WebP, by its bytes): shown at full size.
    case image(mediaType: String)
    /// The first rows of a CSV or TSV file, as cells.
    case table(rows: [[String]], truncated: Bool)
    /// JSON, re-indented (keys in their order).
    case json(String, truncated: Bool)
    /// The start of a text file.
    case text(String, truncated: Bool)
    /// No preview for this kind of file (HTML, SVG, binaries): download it instead.
    case none
  }

  public static let previewRows = 50
  public static let previewColumns = 40
  public static let previewTextBytes = 64 << 10
  public static let previewJSONBytes = 1 << 20

  /// A preview of an archived file's contents, as data the front end escapes.
  public func preview(of file: FileRecord) async throws(KitError) -> Preview {
    guard let digest = file.sha256 else { return .none }
    let mediaType = file.mediaType ?? "application/octet-stream"
    let store = self.store
    let kind = Self.previewKind(mediaType: mediaType)
    let limit: Int
    switch kind {
    case .image:
      return MediaType.rasterImage(prefix: try await prefix(of: digest, bytes: 16)).map { .image(mediaType: $0) }
        ?? .none
    case .none: return .none
    case .json: limit = Self.previewJSONBytes
    case .table, .text: limit = Self.previewTextBytes
    }
    return try await blocking { () throws(KitError) in
      let bytes = try Self.readPrefix(of: digest, bytes: limit + 1, store)
      let truncated = bytes.count > limit
      let kept = Array(bytes.prefix(limit))
      guard MediaType.looksLikeText(kept) || kept.isEmpty else { return .none }
      let text = String(decoding: kept, as: UTF8.self)
      switch kind {
      case .table:
        let separator: Character = mediaType == "text/tab-separated-values" ? "\t" : ","
        let (rows, more) = CSVPreview.rows(
          text, separator: separator, maximumRows: Self.previewRows, maximumColumns: Self.previewColumns,
          inputComplete: !truncated)
        return .table(rows: rows, truncated: truncated || more)
      case .json:
        if !truncated, let pretty = JSONIndenter.indent(kept) { return .json(pretty, truncated: false) }
        return .text(text, truncated: truncated)
      default:
        return .text(text, truncated: truncated)
      }
    }
  }

  /// The first `count` bytes of `digest` (fewer when the file is shorter).
  public func prefix(of digest: Digest, bytes count: Int) async throws(KitError) -> [UInt8] {
    let store = self.store
    return try await blocking { () throws(KitError) in try Self.readPrefix(of: digest, bytes: count, store) }
  }

  /// Types shown as text (CSV, JSON, plain text, code): served as text/plain, never as what they claim.
  public static func showsAsText(_ mediaType: String) -> Bool {
    switch previewKind(mediaType: mediaType) {
    case .table, .json, .text: true
    case .image, .none: false
    }
  }

  /// Markup a browser would run (scripts, event handlers): never previewed, never shown inline.
  public static func isMarkup(_ mediaType: String) -> Bool {
    ["text/html", "image/svg+xml", "application/xhtml+xml", "application/xml", "text/xml"].contains(mediaType)
  }

  enum PreviewKind { case image, table, json, text, none }

  static func previewKind(mediaType: String) -> PreviewKind {
    switch mediaType {
    case "image/png", "image/jpeg", "image/gif", "image/webp": .image
    case "text/csv", "text/tab-separated-values": .table
    case "application/json": .json
    case _ where isMarkup(mediaType): .none
    case "application/jsonl", "text/x-python": .text
    default: mediaType.hasPrefix("text/") ? .text : .none
    }
  }

  static func readPrefix(of digest: Digest, bytes count: Int, _ store: ArtifactStore) throws(KitError) -> [UInt8] {
    var bytes: [UInt8] = []
    struct Enough: Error {}
    do {
      try store.blobs.read(digest) { chunk in
        bytes.append(contentsOf: chunk.prefix(count - bytes.count))
        if bytes.count >= count { throw Enough() }
      }
    } catch is Enough {
    } catch {
      throw KitError(.unusableStore, "cannot read \(digest.hex): \(error)")
    }
    return bytes
  }

  // MARK: Thumbnails

  public enum Thumbnail: Sendable, Equatable {
    case webp([UInt8])
    /// None can be made (not a raster image, over the limits, libvips missing): why.
    case unavailable(String)
  }

  /// Where the thumbnail of `digest` is kept: `thumbnails/ab/<digest>.webp` in the store (or
  /// `.none`, holding the reason, when none can be made). Derived data: safe to delete.
  public func thumbnailPath(of digest: Digest) -> String {
    store.root + "/thumbnails/" + digest.hex.prefix(2) + "/" + digest.hex + ".webp"
  }

  /// The thumbnail of an archived image, made on first use and kept.
  public func thumbnail(of digest: Digest) async -> Thumbnail {
    let path = thumbnailPath(of: digest)
    let refusalPath = String(path.dropLast(".webp".count)) + ".none"
    let store = self.store
    let thumbnailer = self.thumbnailer
    let slots = thumbnailSlots
    return await blocking { () -> Thumbnail in
      if let kept = FileManager.default.contents(atPath: path) { return .webp([UInt8](kept)) }
      if let refusal = FileManager.default.contents(atPath: refusalPath) {
        return .unavailable(String(decoding: refusal, as: UTF8.self))
      }
      if let reason = Thumbnailer.unavailableReason { return .unavailable(reason) }
      slots.wait()
      defer { slots.signal() }
      let result: Thumbnail
      do {
        // One read (a blob in S3 is fetched whole): the refusal is kept, so a file that is
        // not an image is read once.
        let bytes = try Self.readPrefix(of: digest, bytes: thumbnailer.limits.maximumBytes + 1, store)
        guard MediaType.rasterImage(prefix: Array(bytes.prefix(16))) != nil else {
          return Self.keep(.unavailable("not a PNG, JPEG, GIF or WebP image"), at: refusalPath)
        }
        result = .webp(try thumbnailer.thumbnail(of: bytes, subject: digest.hex))
      } catch let error as ImageError {
        result = .unavailable(error.reason)
      } catch {
        // The store could not be read: say so now, and try again next time.
        return .unavailable("\(error)")
      }
      switch result {
      case .webp: return Self.keep(result, at: path)
      case .unavailable: return Self.keep(result, at: refusalPath)
      }
    }
  }

  /// Writes a thumbnail (or the reason for none) where the next request finds it: a
  /// temporary file renamed into place, so a reader never sees half of one.
  private static func keep(_ thumbnail: Thumbnail, at path: String) -> Thumbnail {
    let bytes: [UInt8] =
      switch thumbnail {
      case .webp(let webp): webp
      case .unavailable(let reason): Array(reason.utf8)
      }
    let directory = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let temporary = path + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
    if FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) {
      if rename(temporary, path) != 0 { unlink(temporary) }
    }
    return thumbnail
  }

  // MARK: Bytes and exports as streams

  /// The bytes of `digest`, read on their own thread at most a few chunks ahead of the
  /// consumer, so a slow client holds a few MiB, not the file.
  public func content(of digest: Digest) -> ByteChunks {
    let store = self.store
    return ByteChunks { emit in
      do {
        try store.blobs.read(digest) { chunk in try emit(chunk) }
      } catch let error as ByteChunks.Cancelled {
        throw error
      } catch {
        throw KitError(.unusableStore, "cannot read \(digest.hex): \(error)")
      }
    }
  }

  /// `artifacts export` of `query`'s selection (plain tar, MANIFEST.json first), as it is
  /// written. Reads a pipe the export writes into: the process must ignore SIGPIPE, so a
  /// client that goes away ends the export with an error instead of the process.
  public func export(_ query: FindQuery, layout: ExportLayout = ExportLayout.byResponse) -> ByteChunks {
    let store = self.store
    return ByteChunks { emit in
      var descriptors: [Int32] = [0, 0]
      guard pipe(&descriptors) == 0 else {
        throw KitError(.unusableStore, "cannot export: pipe: \(String(cString: strerror(errno)))")
      }
      let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
      let outcome = Mutex<Result<ExportSummary, KitError>?>(nil)
      let finished = DispatchSemaphore(value: 0)
      Thread.detachNewThread {
        let options = ExportOptions(
          query: query, layout: layout, destination: .descriptor(writeEnd, name: "the export stream"))
        let result = Result { () throws(KitError) in try Export(store: store).write(options, progress: nil) }
        close(writeEnd)
        outcome.withLock { $0 = result }
        finished.signal()
      }
      defer { close(readEnd) }
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
      defer { buffer.deallocate() }
      var failure: (any Error)?
      while failure == nil {
        let count = read(readEnd, buffer.baseAddress, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        do { try emit(UnsafeRawBufferPointer(rebasing: buffer[..<count])) } catch { failure = error }
      }
      // The client went away: closing the read end makes the export's next write fail.
      close(readEnd)
      finished.wait()
      if let failure { throw failure }
      if case .failure(let error) = outcome.withLock({ $0 }) { throw error }
    }
  }
}

/// Chunks of bytes made by blocking code on a thread of their own and handed to an async
/// consumer at most `depth` chunks ahead of it. A consumer that stops iterating (a client
/// that disconnects) makes the producer's next `emit` throw `Cancelled`.
public struct ByteChunks: AsyncSequence, Sendable {
  public typealias Element = [UInt8]
  public struct Cancelled: Error {}

  private let producer: @Sendable (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
  private let depth: Int

  public init(
    depth: Int = 4, _ producer: @escaping @Sendable (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
  ) {
    self.producer = producer
    self.depth = depth
  }

  public func makeAsyncIterator() -> AsyncIterator {
    let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
    let credit = CountingSlots(depth)
    let box = CancelFlag()
    continuation.onTermination = { _ in
      box.cancel()
      credit.open()
    }
    let producer = self.producer
    Thread.detachNewThread {
      do {
        try producer { chunk in
          credit.wait()
          if box.isCancelled { throw Cancelled() }
          continuation.yield([UInt8](chunk))
        }
        continuation.finish()
      } catch {
        continuation.finish(throwing: error)
      }
    }
    return AsyncIterator(base: stream.makeAsyncIterator(), credit: credit)
  }

  public struct AsyncIterator: AsyncIteratorProtocol {
    var base: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    let credit: CountingSlots

    public mutating func next() async throws -> [UInt8]? {
      let chunk = try await base.next()
      if chunk != nil { credit.signal() }
      return chunk
    }
  }
}

/// A counting semaphore that can also be opened for good (so nothing waits on it again).
final class CountingSlots: @unchecked Sendable {
  // Both guarded by `condition`.
  private var available: Int
  private var isOpen = false
  private let condition = NSCondition()

  init(_ count: Int) { available = max(1, count) }

  func wait() {
    condition.lock()
    defer { condition.unlock() }
    while !isOpen && available == 0 { condition.wait() }
    if !isOpen { available -= 1 }
  }

  func signal() {
    condition.lock()
    available += 1
    condition.signal()
    condition.unlock()
  }

  func open() {
    condition.lock()
    isOpen = true
    condition.broadcast()
    condition.unlock()
  }
}

private final class CancelFlag: Sendable {
  private let flag = Atomic<Bool>(false)
  var isCancelled: Bool { flag.load(ordering: .acquiring) }
  func cancel() { flag.store(true, ordering: .releasing) }
}

/// The first rows of comma- or tab-separated text, with RFC 4180 quoting (quoted fields may
/// hold separators, doubled quotes and line breaks).
enum CSVPreview {
  /// The rows, and whether more followed. When `inputComplete` is false the text was cut
  /// short, so its last (possibly partial) row is left out.
  static func rows(
    _ text: String, separator: Character, maximumRows: Int, maximumColumns: Int, inputComplete: Bool
  ) -> ([[String]], Bool) {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var atFieldStart = true
    var characters = text.makeIterator()
    var pending: Character? = nil
    func endRow() {
      row.append(field)
      field = ""
      rows.append(Array(row.prefix(maximumColumns)))
      row = []
    }
    while let character = pending ?? characters.next() {
      pending = nil
      if rows.count > maximumRows { break }
      if quoted {
        if character == "\"" {
          if let next = characters.next() {
            if next == "\"" {
              field.append("\"")
            } else {
              quoted = false
              pending = next
            }
          } else {
            quoted = false
          }
        } else {
          field.append(character)
        }
        continue
      }
      switch character {
      case "\"" where atFieldStart:
        quoted = true
        atFieldStart = false
      case separator:
        row.append(field)
        field = ""
        atFieldStart = true
      case "\n", "\r\n", "\r":
        endRow()
        atFieldStart = true
      default:
        field.append(character)
        atFieldStart = false
      }
    }
    let cutShort = !inputComplete
    if !field.isEmpty || !row.isEmpty {
      if !cutShort { endRow() }
    }
    let more = rows.count > maximumRows || cutShort
    return (Array(rows.prefix(maximumRows)), more)
  }
}

/// Re-indents JSON keeping its keys in their order (a parse-and-print would sort or shuffle
/// them); nil when the bytes are not JSON.
enum JSONIndenter {
  static func indent(_ bytes: [UInt8]) -> String? {
    guard (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil else {
      return nil
    }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count * 2)
    var depth = 0
    var inString = false
    var escaped = false
    var index = 0
    func newline() {
      output.append(UInt8(ascii: "\n"))
      output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if inString {
        output.append(byte)
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
        continue
      case UInt8(ascii: "\""):
        inString = true
        output.append(byte)
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        output.append(byte)
        // An empty object or array stays on one line.
        var next = index
        while next < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[next]) { next += 1 }
        if next < bytes.count, bytes[next] == (byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
          output.append(bytes[next])
          index = next + 1
          continue
        }
        depth += 1
        newline()
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
        newline()
        output.append(byte)
      case UInt8(ascii: ","):
        output.append(byte)
        newline()
      case UInt8(ascii: ":"):
        output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
      default:
        output.append(byte)
      }
    }
    return String(decoding: output, as: UTF8.self)
  }
}
