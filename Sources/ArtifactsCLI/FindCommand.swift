import ArgumentParser
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
        let store = try await global.openStore(.read)
        var query = selection.query
        if !json && (print0 || !terminal.stdoutIsTerminal) {
          // Paths only: written as the catalog reads them, none held.
          query.detail = .paths
          let output = terminal.blocks(separator: print0 ? "\0" : "\n")
          let print0 = print0
          let count = try await Browse(store: store).find(query) { record in
            if print0 {
              if let path = record.path { output.add(path) }
            } else {
              output.add(record.path ?? record.uri ?? "\(record.containerId)/\(record.fileId)")
            }
          }
          output.finish()
          guard count > 0 else { throw ExitCode.noMatch }
          return
        }
        let records = try await Browse(store: store).find(query)
        guard !records.isEmpty else { throw ExitCode.noMatch }
        if json {
          terminal.out(lines: Format.jsonLines(records))
        } else {
          printTable(records, terminal: terminal)
        }
      }
    }

    private func printTable(_ records: [FileRecord], terminal: Terminal) {
      var rows = [["NAME", "SIZE", "SHA256", "STATE", "RESPONSE", "CITED"]]
      for record in records {
        rows.append([
          Format.printable(record.filename), record.size.map(Format.bytes) ?? "-", record.sha256?.short ?? "-",
          record.state.rawValue, record.responseId ?? "-", Format.date(unixSeconds: record.latestCitation?.createdAt),
        ])
      }
      let lines = Format.table(rows)
      terminal.out(terminal.styled(lines[0], .bold))
      terminal.out(lines: lines.dropFirst())
    }
  }
}
