import ArgumentParser
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Find: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Find archived files by name.",
      discussion: """
        PATTERN matches any part of the file name. Matching ignores case unless the pattern \
        has an upper-case letter. Without a pattern every archived file is listed.

        On a terminal the result is a table; piped, one stored path per line; --json prints \
        one JSON object per file with its provenance. Exit status 1 when nothing matches.

        Examples:
          artifacts find chart.png
          artifacts find .csv --json | jq -r .path
          artifacts find --state lost
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Part of the file name.", valueName: "pattern"))
    var pattern: String?

    @Option(
      name: .long, parsing: .upToNextOption,
      help: ArgumentHelp("States to list: archived (default), pending, lost, failed.", valueName: "state"))
    var state: [FileStateArgument] = []

    @Option(name: .long, help: "Show at most this many files.")
    var limit: Int?

    @Flag(name: .long, help: "Print JSON Lines: one object per file with every citing response.")
    var json = false

    @Flag(name: [.customShort("0"), .long], help: "Print stored paths separated by NUL (for xargs -0).")
    var print0 = false

    func validate() throws {
      if json && print0 { throw ValidationError("--json and --print0 cannot be used together") }
      if let limit, limit < 1 { throw ValidationError("--limit takes a positive number") }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try global.openStore()
        let states = Set(state.map(\.state))
        let query = FindQuery(pattern: pattern.map { .substring($0) }, states: states.isEmpty ? [.archived] : states, limit: limit)
        let files: [FoundFile]
        do { files = try store.catalog.find(query) } catch let error as CatalogError {
          throw CommandFailure(error.description, exitCode: .unusable)
        }
        guard !files.isEmpty else { throw ExitCode.noMatch }
        let records = files.map { FindRecord($0, store: store) }
        if json {
          for record in records { terminal.out(Format.jsonLine(record)) }
        } else if print0 {
          FileHandle.standardOutput.write(Data(records.compactMap(\.path).map { $0 + "\0" }.joined().utf8))
        } else if terminal.stdoutIsTerminal {
          printTable(records, terminal: terminal)
        } else {
          for record in records { terminal.out(record.path ?? "\(record.containerId)/\(record.fileId)") }
        }
      }
    }

    private func printTable(_ records: [FindRecord], terminal: Terminal) {
      var rows = [["NAME", "SIZE", "SHA256", "STATE", "RESPONSE", "CITED"]]
      for record in records {
        let latest = record.citations.last
        rows.append([
          record.filename, record.size.map(Format.bytes) ?? "-", record.sha256.map { String($0.prefix(12)) } ?? "-",
          record.state, record.responseId ?? "-", Format.date(unixSeconds: latest?.createdAt),
        ])
      }
      let lines = Format.table(rows)
      terminal.out(terminal.styled(lines[0], .bold))
      for line in lines.dropFirst() { terminal.out(line) }
    }
  }
}

struct FileStateArgument: ExpressibleByArgument {
  var state: FileState

  init?(argument: String) {
    guard let state = FileState(rawValue: argument.lowercased()) else { return nil }
    self.state = state
  }

  static var allValueStrings: [String] { FileState.allCases.map(\.rawValue) }
}

/// One line of `find --json`. Field names are part of the command-line contract (DESIGN.md).
struct FindRecord: Encodable {
  var filename: String
  var sha256: String?
  var size: Int64?
  var mediaType: String?
  var containerId: String
  var fileId: String
  var state: String
  var source: String
  /// Absolute path of the stored blob.
  var path: String?
  var archivedAt: String?
  var lastError: String?
  /// The latest citing response.
  var responseId: String?
  var citations: [CitationRecord]

  struct CitationRecord: Encodable {
    var responseId: String?
    var model: String?
    /// Unix seconds, as the API reports it.
    var createdAt: Int64?
    var filename: String
    var citedText: String?
    var log: String?
    var line: Int?
  }

  init(_ file: FoundFile, store: ArtifactStore) {
    filename = file.filename
    sha256 = file.sha256
    size = file.size
    mediaType = file.mediaType
    containerId = file.containerID
    fileId = file.fileID
    state = file.state
    source = file.source
    path = file.sha256.flatMap { Digest(hex: $0) }.map { store.blobs.path(for: $0) }
    archivedAt = file.archivedAt
    lastError = file.lastError
    responseId = file.latestCitation?.responseID
    citations = file.citations.map {
      CitationRecord(
        responseId: $0.responseID, model: $0.model, createdAt: $0.createdAt, filename: $0.filename,
        citedText: $0.citedText, log: $0.log, line: $0.line)
    }
  }
}
