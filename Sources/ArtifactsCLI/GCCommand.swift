import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "gc",
      abstract: "Remove stored files nothing needs (a dry run unless --apply).",
      discussion: """
        Lists, and with --apply deletes: stored files no catalog row names that are older than \
        the grace period (a run may have stored a file whose record is not yet committed), and \
        partial transfers of runs that died. With --older-than or --response it also forgets \
        the archived files so selected, and deletes their bytes when no other file shares them. \
        gc takes the store to itself: it will not run beside a sync. A file the catalog names \
        is never deleted.

        Examples:
          artifacts gc
          artifacts gc --apply
          artifacts gc --older-than 365d            # what forgetting last year's files would free
          artifacts gc --response resp_68cdc382… --apply
        """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Delete; without it, only list what would go.")
    var apply = false

    @Option(
      name: .long,
      help: ArgumentHelp("Keep unnamed stored files younger than this (default 24h).", valueName: "duration"))
    var grace: String = "24h"

    @Option(
      name: .long,
      help: ArgumentHelp("Also forget archived files last cited before this long ago (90d) or date.", valueName: "when")
    )
    var olderThan: TimeArgument?

    @Option(name: .long, help: ArgumentHelp("Also forget the archived files this response cited.", valueName: "resp_…"))
    var response: String?

    @Flag(name: .long, help: "Print JSON Lines: one event per item, then the summary.")
    var json = false

    func validate() throws {
      if Duration.seconds(grace) == nil { throw ValidationError("--grace takes a duration such as 30m, 24h or 7d") }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try await global.openStore(.existing)
        var forget: FindQuery?
        if olderThan != nil || response != nil {
          forget = FindQuery(responseID: response, until: olderThan?.unixSeconds)
        }
        let report = try await GarbageCollect(store: store).run(
          GCOptions(apply: apply, grace: Duration.seconds(grace) ?? 86400, forget: forget))
        if json {
          struct Event: Encodable {
            var event: String
            var item: GCReport.Item
          }
          terminal.out(
            lines: Format.jsonLines(report.items.map { Event(event: apply ? "removed" : "would_remove", item: $0) }))
          struct Summary: Encodable {
            var event = "summary"
            var report: GCReport
          }
          terminal.out(Format.jsonLine(Summary(report: report)))
          return
        }
        for item in report.items {
          let what =
            item.filename.map { "\(Format.printable($0)) (\(item.containerID ?? "")/\(item.fileID ?? ""))" } ?? item
            .path ?? ""
          terminal.out("\(apply ? "removed" : "would remove") \(item.kind): \(what), \(Format.bytes(item.bytes))")
        }
        if report.items.isEmpty {
          terminal.out("Nothing to remove.")
        } else {
          terminal.out(
            apply
              ? "Removed \(report.items.count) item\(report.items.count == 1 ? "" : "s"), \(Format.bytes(report.bytes)) freed."
              : "\(report.items.count) item\(report.items.count == 1 ? "" : "s"), \(Format.bytes(report.bytes)); run with --apply to remove."
          )
        }
      }
    }
  }
}
