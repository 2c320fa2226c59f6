import ArgumentParser
import ArtifactsCatalog
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Find: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "find",
      abstract: "Find archived files by name and provenance.",
      discussion: """
        The pattern matches any part of the name, like locate; with * ? or [ it is a glob that \
        must match the whole name, like fd. Matching ignores case unless the pattern has an \
        upper-case letter. Punctuation is plain text: chart.png, my-file (1).csv and résumé.pdf \
        all work. Without a pattern every archived file is listed.

        On a terminal the result is a table; piped, one stored path per line; --json prints one \
        JSON object per file with its provenance; -0 separates paths with NUL. Exit status 1 \
        when nothing matches, as grep.

        Examples:
          artifacts find chart.png
          artifacts find '*.csv' --since 7d --sort newest
          artifacts find --model gpt-5 --type image --json | jq -r .path
          artifacts find --state lost
          artifacts find -0 report | xargs -0 ls -l
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: SelectionOptions

    @Flag(name: .long, help: "Print JSON Lines: one object per file with every citing response.")
    var json = false

    @Flag(name: [.customShort("0"), .long], help: "Print stored paths separated by NUL (for xargs -0).")
    var print0 = false

    func validate() throws {
      if json && print0 { throw ValidationError("--json and --print0 cannot be used together") }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try global.openStore(.read)
        let files: [FoundFile]
        var query = selection.query
        if !json && (print0 || !terminal.stdoutIsTerminal) { query.detail = .paths }
        do { files = try store.catalog.find(query) } catch let error as CatalogError {
          throw CommandFailure(error.description, exitCode: .unusable)
        }
        guard !files.isEmpty else { throw ExitCode.noMatch }
        let records = files.map { FileRecord($0, store: store) }
        if json {
          terminal.out(lines: Format.jsonLines(records))
        } else if print0 {
          FileHandle.standardOutput.write(Data(records.compactMap(\.path).map { $0 + "\0" }.joined().utf8))
        } else if terminal.stdoutIsTerminal {
          printTable(records, terminal: terminal)
        } else {
          terminal.out(lines: records.lazy.map { $0.path ?? "\($0.containerId)/\($0.fileId)" })
        }
      }
    }

    private func printTable(_ records: [FileRecord], terminal: Terminal) {
      var rows = [["NAME", "SIZE", "SHA256", "STATE", "RESPONSE", "CITED"]]
      for record in records {
        let latest = record.citations.max { ($0.createdAt ?? 0) < ($1.createdAt ?? 0) }
        rows.append([
          Format.printable(record.filename), record.size.map(Format.bytes) ?? "-",
          record.sha256.map { String($0.prefix(12)) } ?? "-", record.state, record.responseId ?? "-",
          Format.date(unixSeconds: latest?.createdAt),
        ])
      }
      let lines = Format.table(rows)
      terminal.out(terminal.styled(lines[0], .bold))
      terminal.out(lines: lines.dropFirst())
    }
  }
}

/// One file as `find --json` and `show --json` print it. Field names are part of the
/// command-line contract (DESIGN.md).
struct FileRecord: Encodable {
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
  var firstSeenAt: String
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
    var previousResponseId: String?
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
    firstSeenAt = file.firstSeenAt
    archivedAt = file.archivedAt
    lastError = file.lastError
    responseId = file.latestCitation?.responseID
    citations = file.citations.map {
      CitationRecord(
        responseId: $0.responseID, model: $0.model, createdAt: $0.createdAt, previousResponseId: $0.previousResponseID,
        filename: $0.filename, citedText: $0.citedText, log: $0.log, line: $0.line)
    }
  }
}
