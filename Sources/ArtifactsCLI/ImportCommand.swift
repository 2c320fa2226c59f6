import ArgumentParser
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import",
      abstract: "Add the files and provenance of an export to this store.",
      discussion: """
        Reads an archive written by artifacts export (.tar or .tar.gz, or - for standard \
        input), checks every file against the digest in its MANIFEST.json, stores the bytes \
        and records the files with their citations, so find, show and export work on them as \
        on files synced here.

        Examples:
          artifacts import q3-results.tar.gz
          ssh host artifacts export - --format tgz | artifacts import -
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The archive to read, or - for standard input.", valueName: "archive"))
    var archive: String

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        if archive != "-" && access(archive, R_OK) != 0 {
          // Said before the store is opened, so a mistyped name creates no store.
          throw CommandFailure("cannot read \(archive): \(String(cString: strerror(errno)))", exitCode: .unusable)
        }
        let store = try await global.openStore(.create)
        let source: ByteStream =
          archive == "-" ? .descriptor(STDIN_FILENO, name: "standard input") : .file(archive)
        let summary = try await ArtifactsKit.Import(store: store).run(archive: source)
        if !global.quiet {
          terminal.out(
            "imported \(summary.files) file\(summary.files == 1 ? "" : "s") (\(summary.added) new to this store); "
              + "\(summary.stored) new content\(summary.stored == 1 ? "" : "s") stored, \(Format.bytes(summary.bytes)) read"
          )
        }
      }
    }
  }
}
