import ArgumentParser
import ArtifactsCatalog
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
        let store = try global.openStore(.read)
        let files = try resolve(id, in: store, sameContentOnly: false)
        for (index, file) in files.enumerated() {
          if json {
            terminal.out(Format.jsonLine(FileRecord(file, store: store)))
            continue
          }
          if index > 0 { terminal.out("") }
          describe(file, store: store, terminal: terminal)
        }
      }
    }

    private func describe(_ file: FoundFile, store: ArtifactStore, terminal: Terminal) {
      let record = FileRecord(file, store: store)
      terminal.out(terminal.styled(Format.printable(file.filename), .bold))
      var rows: [[String]] = []
      if let sha256 = file.sha256 { rows.append(["sha256", sha256]) }
      if let size = file.size { rows.append(["size", "\(Format.bytes(size)) (\(size) bytes)"]) }
      if let type = file.mediaType { rows.append(["type", type]) }
      var state = file.state
      if let archived = file.archivedAt { state += " at \(archived)" }
      if let error = file.lastError { state += ": \(error)" }
      rows.append(["state", state])
      rows.append(["container", file.containerID])
      rows.append(["file id", file.fileID])
      rows.append(["source", file.source])
      if let path = record.path { rows.append(["stored at", path]) }
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

/// The files `id` names; fails when none does, or (with `sameContentOnly`) when they hold
/// different contents.
func resolve(_ id: String, in store: ArtifactStore, sameContentOnly: Bool) throws -> [FoundFile] {
  let files: [FoundFile]
  do { files = try store.catalog.lookup(id) } catch { throw CommandFailure(error.description, exitCode: .unusable) }
  guard !files.isEmpty else {
    throw CommandFailure(
      "nothing in the store is called \(id) (try a cfile_ id, a digest prefix, or artifacts find \(id))",
      exitCode: .noMatch)
  }
  if sameContentOnly && Set(files.map { $0.sha256 ?? "\($0.rowID)" }).count > 1 {
    let list = files.map { "  \($0.fileID)  \($0.sha256.map { String($0.prefix(12)) } ?? $0.state)  \($0.filename)" }
    throw CommandFailure(
      "\(id) names \(files.count) files with different contents; use one of their ids:\n"
        + list.joined(separator: "\n"),
      exitCode: .noMatch)
  }
  return files
}
