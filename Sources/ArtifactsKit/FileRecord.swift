// The one shape in which a front end sees an archived (or waiting, lost, failed) file: what
// `find --json` and `show --json` print, what the web UI shows. Field names are part of the
// command-line contract (DESIGN.md).
import ArtifactsCore

public struct FileRecord: Sendable, Encodable, Equatable {
  public var filename: String
  public var sha256: Digest?
  public var size: Int64?
  public var mediaType: String?
  public var containerId: String
  public var fileId: String
  public var state: FileState
  public var source: String
  /// Absolute path of the stored blob, when the bytes are on this machine.
  public var path: String?
  /// Where the bytes are when they are not on this machine (`s3://…`).
  public var uri: String?
  public var firstSeenAt: String
  public var archivedAt: String?
  public var lastError: String?
  /// The latest citing response.
  public var responseId: String?
  /// Oldest first.
  public var citations: [CitationRecord]

  init(_ file: FoundFile, location: BlobLocation?) {
    filename = file.filename
    sha256 = file.digest
    size = file.size
    mediaType = file.mediaType
    containerId = file.containerID
    fileId = file.fileID
    state = file.state
    source = file.source
    switch location {
    case .path(let blobPath): path = blobPath
    case .uri(let address): uri = address
    case nil: break
    }
    firstSeenAt = file.firstSeenAt
    archivedAt = file.archivedAt
    lastError = file.lastError
    responseId = file.latestCitation?.responseID
    citations = file.citations
  }

  /// The latest citing response, as `find`'s table shows it.
  public var latestCitation: CitationRecord? { CitationRecord.latest(in: citations) }
}
