import ArgumentParser
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Verify that the catalog and the stored files agree.",
      discussion: """
        Runs SQLite's integrity check on the catalog, then checks that every stored file the \
        catalog names exists with the right size, and lists stored files the catalog does not \
        name (left by an interrupted run; gc removes them). With --blobs, the stored files are \
        the bucket's objects. With --read-data, files are \
        re-hashed, least recently verified first (a corrupt one is read twice before it is \
        called corrupt); a percentage or a time budget verifies part of the store and the next \
        check continues from there. Each damaged file is named with its provenance.

        With --repair, damaged files are moved aside (to damaged/ in the store, or below the \
        bucket's prefix) and downloaded \
        again while their containers live (OPENAI_API_KEY needed); the others become lost, \
        with the damage in their reason.

        Exit status: 0 clean (or all repaired); 3 damage found (or some could not be repaired); \
        1 could not run.

        Examples:
          artifacts check
          artifacts check --read-data
          artifacts check --budget 10%           # a tenth of the store, the least recently verified
          artifacts check --budget 5m --json     # five minutes' worth, as JSON Lines
          artifacts check --read-data --repair
        """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Re-hash every stored file.")
    var readData = false

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Re-hash only part: a percentage (10%) or a time budget (90s, 5m, 1h); implies --read-data.", valueName: "share"
      ))
    var budget: ReadDataArgument?

    @Flag(name: .long, help: "Download damaged files again while their containers live; the rest become lost.")
    var repair = false

    @Flag(name: .long, help: "Print JSON Lines: one event per problem, then the summary.")
    var json = false

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try await global.openStore(.existing)
        let progress = Progress(terminal: terminal, label: "verifying")
        let report: CheckReport
        let quietProgress = json
        do throws(KitError) {
          let scope = budget?.scope ?? (readData ? .all : nil)
          report = try await ArtifactsKit.Check(store: store).run(CheckOptions(readData: scope)) { done, total in
            if !quietProgress { progress.update(done, total) }
          }
        } catch {
          progress.clear()
          throw CommandFailure(error)
        }
        progress.clear()
        if json {
          printJSON(report, terminal: terminal)
        } else {
          printReport(report, storedIn: store.blobsDescription, terminal: terminal)
        }
        guard repair, !report.damaged.isEmpty else {
          if !report.isClean { throw ExitCode.incomplete }
          return
        }
        let api = APISettings(
          environment: ProcessInfo.processInfo.environment, userAgent: "artifacts/\(ArtifactsCommand.version)")
        let repaired = try await ArtifactsKit.Check(store: store).repair(
          report, sink: SyncEventPrinter(terminal: terminal, json: json), api: api)
        if json {
          struct Repair: Encodable {
            var event = "repair"
            var summary: RepairSummary
          }
          terminal.out(Format.jsonLine(Repair(summary: repaired)))
        } else {
          terminal.out(
            "Repaired \(repaired.repaired) file\(repaired.repaired == 1 ? "" : "s") by downloading them again"
              + (repaired.lost > 0 ? "; \(repaired.lost) lost (their containers are gone)" : "")
              + (repaired.failed > 0 ? "; \(repaired.failed) failed (the next check --repair tries again)" : ""))
        }
        if !report.catalogProblems.isEmpty || repaired.lost + repaired.failed > 0 { throw ExitCode.incomplete }
      }
    }

    struct Event: Encodable {
      var event: String
      var path: String?
      var message: String?
      var damage: DamagedFile?
    }

    private func printJSON(_ report: CheckReport, terminal: Terminal) {
      var events = report.catalogProblems.map { Event(event: "catalog_problem", message: $0) }
      events += report.damaged.map { Event(event: "damage", damage: $0) }
      events += report.unreferenced.map { Event(event: "unreferenced", path: $0) }
      events += report.stray.map { Event(event: "stray", path: $0) }
      terminal.out(lines: Format.jsonLines(events))
      struct Summary: Encodable {
        var event = "summary"
        var report: CheckReport
        var clean: Bool
      }
      terminal.out(Format.jsonLine(Summary(report: report, clean: report.isClean)))
    }

    private func printReport(_ report: CheckReport, storedIn place: String, terminal: Terminal) {
      let catalog =
        report.catalogProblems.isEmpty ? "ok" : terminal.styled("\(report.catalogProblems.count) problems", .red)
      terminal.out("Catalog: \(catalog) (SQLite integrity and foreign-key checks)")
      for problem in report.catalogProblems { terminal.out("  \(problem)") }
      var line = "Stored files: \(report.blobsInCatalog) named by the catalog, \(report.blobsOnDisk) \(place)"
      if !report.unreferenced.isEmpty {
        line += "; \(report.unreferenced.count) not named by the catalog (gc removes them)"
      }
      if !report.stray.isEmpty { line += "; \(report.stray.count) stray files" }
      terminal.out(line)
      if report.blobsVerified > 0 || report.blobsNotVerified > 0 {
        var read = "Re-hashed: \(report.blobsVerified) files, \(Format.bytes(report.bytesVerified))"
        if report.blobsNotVerified > 0 { read += "; \(report.blobsNotVerified) left for the next check" }
        terminal.out(read)
      }
      if report.damaged.isEmpty {
        terminal.out(report.isClean ? terminal.styled("No damage found.", .green) : "")
        return
      }
      terminal.out(
        terminal.styled("Damaged: \(report.damaged.count) file\(report.damaged.count == 1 ? "" : "s")", .red))
      for file in report.damaged {
        terminal.out(
          "  \(Format.printable(file.filename)) (\(file.containerID)/\(file.fileID)): \(file.problem): \(file.detail)")
        for citation in file.citedBy { terminal.out("    cited by \(citation)") }
      }
    }
  }
}

struct ReadDataArgument: ExpressibleByArgument {
  var scope: CheckOptions.ReadData

  init?(argument: String) {
    let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
    if text == "all" || text.isEmpty {
      scope = .all
    } else if text.hasSuffix("%"), let percent = Double(text.dropLast()), (0...100).contains(percent) {
      scope = .percent(percent)
    } else if let seconds = Duration.seconds(text), seconds > 0 {
      scope = .seconds(seconds)
    } else {
      return nil
    }
  }
}
