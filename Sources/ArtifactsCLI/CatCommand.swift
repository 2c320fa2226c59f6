import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Cat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cat",
      abstract: "Write one archived file's bytes to standard output.",
      discussion: """
        ID is a file id (cfile_…), a digest or a prefix of one, or an exact file name.

        Examples:
          artifacts cat cfile_69db6650a6fc8191919d27a79b8e1633 | head
          artifacts cat y_equals_x_squared.png > chart.png
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A cfile_ id, a digest or its prefix, or a file name.", valueName: "id"))
    var id: String

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try await global.openStore(.read)
        try await Browse(store: store).write(contentNamed: id, to: STDOUT_FILENO, name: "standard output")
      }
    }
  }
}
