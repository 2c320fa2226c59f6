import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension ArtifactsCommand {
  struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export",
      abstract: "Write archived files and their provenance to a .tar or .tar.gz.",
      discussion: """
        Selects files as find does, and writes them with a MANIFEST.json that records, for \
        every entry, its digest, container, file id and every citation. The archive is POSIX \
        pax tar; GNU tar, bsdtar and Python's tarfile read it. Names from logs are made safe \
        (no .., no absolute paths, no control characters, NFC, at most 255 bytes), so no entry \
        can land outside the directory it is extracted into. The same content twice is stored \
        once (later entries are hard links). The same selection always gives the same bytes.

        Layouts: by-response puts files under <date>_<response_id>/, by-container under \
        <container_id>/, flat in one folder.

        Examples:
          artifacts export q3-results.tar.gz --response resp_68cdc382bc98…
          artifacts export charts.tar '*.png' --since 30d --layout flat
          artifacts export - --format tgz csv | ssh host 'tar xzf -'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(
      help: ArgumentHelp("The archive to write: .tar, .tar.gz or .tgz, or - for standard output.", valueName: "out"))
    var output: String

    @OptionGroup var selection: SelectionOptions

    @Option(name: .long, help: ArgumentHelp("by-response (default), by-container or flat.", valueName: "layout"))
    var layout: LayoutArgument = .init(.byResponse)

    @Option(name: .long, help: ArgumentHelp("tar or tgz; needed when writing to standard output.", valueName: "format"))
    var format: ArchiveFormat?

    @Option(name: .long, help: "gzip level, 1 (fastest) to 9 (smallest).")
    var level: Int32 = 6

    func validate() throws {
      if !(0...9).contains(level) { throw ValidationError("--level takes a number from 0 to 9") }
      if output != "-" && format == nil && ArchiveFormat(fileName: output) == nil {
        throw ValidationError("name the archive .tar, .tar.gz or .tgz, or say --format tar|tgz")
      }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let chosen = format ?? ArchiveFormat(fileName: output) ?? .tar
        if output == "-" && isatty(STDOUT_FILENO) == 1 {
          throw CommandFailure(
            "refusing to write an archive to the terminal; redirect standard output or name a file", exitCode: .unusable
          )
        }
        let store = try await global.openStore(.read)
        let options = ExportOptions(
          query: selection.query, layout: layout.layout, gzipLevel: chosen == .tgz ? level : nil,
          destination: output == "-" ? .descriptor(STDOUT_FILENO, name: "standard output") : .file(output))
        let progress = Progress(terminal: terminal, label: "exporting")
        let summary: ExportSummary
        do throws(KitError) {
          summary = try await ArtifactsKit.Export(store: store).run(options) { done, total in
            progress.update(done, total)
          }
        } catch {
          progress.clear()
          throw CommandFailure(error)
        }
        progress.clear()
        guard summary.files > 0 else {
          throw CommandFailure("nothing matches; no archive was written", exitCode: .noMatch)
        }
        if !global.quiet {
          let destination = output == "-" ? "standard output" : output
          terminal.err(
            "exported \(summary.files) file\(summary.files == 1 ? "" : "s")"
              + (summary.links > 0 ? " (\(summary.links) as hard links to the same content)" : "")
              + ", \(Format.bytes(summary.bytes)) → \(destination) (\(Format.bytes(summary.archiveBytes)))")
        }
      }
    }
  }
}

enum ArchiveFormat: String, ExpressibleByArgument, CaseIterable {
  case tar, tgz

  init?(fileName: String) {
    let lower = fileName.lowercased()
    if lower.hasSuffix(".tar") {
      self = .tar
    } else if lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") {
      self = .tgz
    } else {
      return nil
    }
  }
}

struct LayoutArgument: ExpressibleByArgument {
  var layout: ExportLayout

  init(_ layout: ExportLayout) { self.layout = layout }

  init?(argument: String) {
    guard let layout = ExportLayout(rawValue: argument) else { return nil }
    self.layout = layout
  }

  static var allValueStrings: [String] { ExportLayout.allCases.map(\.rawValue) }
  var defaultValueDescription: String { layout.rawValue }
}
