import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "Show everything known about one file: bytes, state and every citation.",
      discussion: """
        ID is a file id (cfile_…), a SHA-256 digest or a prefix of one (at least 4 hex digits), \
        or an exact file name. Several files with the same content are all shown.

        Examples:
          artifacts show cfile_68cdc39bba888191b47ed8bda6111395
          artifacts show 2c6e5f09
          artifacts show --json y_equals_x_squared.png
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A cfile_ id, a digest or its prefix, or a file name.", valueName: "id"))
    var id: String

    @Flag(name: .long, help: "Print JSON Lines, one object per file (the fields of find --json).")
    var json = false

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try await global.openStore(.read)
        let files = try await Browse(store: store).files(named: id)
        for (index, file) in files.enumerated() {
          if json {
            terminal.out(Format.jsonLine(file))
            continue
          }
          if index > 0 { terminal.out("") }
          describe(file, terminal: terminal)
        }
      }
    }

    private func describe(_ file: FileRecord, terminal: Terminal) {
      terminal.out(terminal.styled(Format.printable(file.filename), .bold))
      var rows: [[String]] = []
      if let digest = file.sha256 { rows.append(["sha256", digest.hex]) }
      if let size = file.size { rows.append(["size", "\(Format.bytes(size)) (\(size) bytes)"]) }
      if let type = file.mediaType { rows.append(["type", type]) }
      var state = file.state.rawValue
      if let archived = file.archivedAt { state += " at \(archived)" }
      if let error = file.lastError { state += ": \(error)" }
      rows.append(["state", state])
      rows.append(["container", file.containerId])
      rows.append(["file id", file.fileId])
      rows.append(["source", file.source])
      if let path = file.path ?? file.uri { rows.append(["stored at", path]) }
      rows.append(["cited", "\(file.citations.count) time\(file.citations.count == 1 ? "" : "s")"])
      for line in Format.table(rows) { terminal.out("  " + line) }
      for citation in file.citations {
        var heading = citation.responseID ?? "(no response id)"
        if let model = citation.model { heading += "  \(model)" }
        if let created = citation.createdAt { heading += "  \(Format.date(unixSeconds: created)) UTC" }
        terminal.out("  " + terminal.styled(heading, .cyan))
        var details: [[String]] = []
        if citation.filename != file.filename { details.append(["as", Format.printable(citation.filename)]) }
        if let text = citation.citedText, !text.isEmpty {
          details.append(["text", Format.printable(text) + "  [\(citation.startIndex)..<\(citation.endIndex)]"])
        } else if citation.startIndex == 0 && citation.endIndex == 0 {
          details.append(["text", "(a plot shown by the tool, not linked in the text)"])
        }
        if let previous = citation.previousResponseID { details.append(["follows", previous]) }
        if let log = citation.log { details.append(["log", "\(log)\(citation.line.map { ":\($0)" } ?? "")"]) }
        for line in Format.table(details) { terminal.out("    " + line) }
      }
    }
  }
}
