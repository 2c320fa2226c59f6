import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct MigrateCatalog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "migrate-catalog",
      abstract: "Copy the store's local catalog into PostgreSQL, to share it between hosts.",
      discussion: """
        Copies everything catalog.sqlite holds — files in every state, citations, responses, \
        containers and their deadlines, and the scan positions of the logs (kept as this \
        host's) — into an empty PostgreSQL catalog, in one transaction: a failure copies \
        nothing. The local catalog is left as it was. The bytes stay in the store directory; \
        push copies them into a bucket the other hosts can read. Afterwards, give every \
        command --catalog (or set ARTIFACTS_CATALOG).

        Exit status: 0 copied; 1 could not run (no local catalog, the database refused, or it \
        already holds files).

        Examples:
          artifacts migrate-catalog --to postgresql://artifacts@db.internal/archive
          PGPASSWORD=… artifacts migrate-catalog --to postgresql://artifacts@127.0.0.1:5432/archive --json
          export ARTIFACTS_CATALOG=postgresql://artifacts@db.internal/archive
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("The PostgreSQL catalog to copy into.", valueName: "postgresql://…"))
    var to: String

    @Flag(name: .long, help: "Print the summary as one JSON object.")
    var json = false

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let destination: CatalogSettings
        do throws(KitError) {
          destination = try CatalogSettings.chosen(option: to, environment: ProcessInfo.processInfo.environment)
        } catch {
          throw CommandFailure(error)
        }
        let report: CatalogMigrationReport
        do throws(KitError) {
          report = try await ArtifactsKit.MigrateCatalog(storeRoot: global.storeRoot, destination: destination).run()
        } catch {
          throw CommandFailure(error)
        }
        if json {
          terminal.out(Format.jsonLine(report))
          return
        }
        terminal.out(
          "Copied \(report.files) file\(report.files == 1 ? "" : "s") (\(report.citations) citations, \(report.responses) responses, \(report.containers) containers, \(report.blobs) stored contents, \(report.logs) log positions kept as host \(report.host)) from \(report.source) into \(report.destination)"
        )
        terminal.out(
          "Use --catalog \(report.destination) (or ARTIFACTS_CATALOG) from now on; the bytes are still in \(global.storeRoot) (artifacts push --blobs s3://… shares them)"
        )
      }
    }
  }
}
