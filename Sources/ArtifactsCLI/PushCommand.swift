import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "push",
      abstract: "Copy the local store's files into the bucket --blobs names.",
      discussion: """
        Uploads every stored file the catalog names from the store directory into an \
        S3-compatible bucket, so that syncs on other machines (and this one, with --blobs) \
        share one archive. Each file is re-hashed before it is sent, so damaged bytes are never \
        spread (check --repair mends them), and confirmed by the server after. Files already in \
        the bucket are skipped, so an interrupted push resumes where it stopped. The catalog \
        and the local files are left as they are.

        Exit status: 0 everything is in the bucket; 3 some files were damaged or missing \
        (listed); 1 could not run.

        Examples:
          export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_REGION=eu-west-3
          artifacts push --blobs s3://team-archive/artifacts
          AWS_ENDPOINT_URL_S3=https://minio.internal:9000 artifacts push --blobs s3://archive/prod --json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "Uploads at once.")
    var jobs = 8

    @Flag(name: .long, help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
      if !(1...256).contains(jobs) { throw ValidationError("--jobs takes a number from 1 to 256") }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        guard case .objectStore = global.blobSettings().location else {
          throw CommandFailure(
            "push needs the bucket to copy into: --blobs s3://BUCKET/PREFIX (or ARTIFACTS_BLOBS)", exitCode: .unusable)
        }
        let store = try await global.openStore(.existing, jobs: jobs)
        let progress = Progress(terminal: terminal, label: "pushing")
        let quietProgress = json
        let report: PushReport
        do throws(KitError) {
          report = try await ArtifactsKit.Push(store: store).run(jobs: jobs) { done, total in
            if !quietProgress { progress.update(Int64(done), Int64(total)) }
          }
        } catch {
          progress.clear()
          throw CommandFailure(error)
        }
        progress.clear()
        if json {
          terminal.out(Format.jsonLine(report))
        } else {
          terminal.out(
            "Pushed \(report.uploaded) file\(report.uploaded == 1 ? "" : "s") (\(Format.bytes(report.bytesUploaded))); \(report.alreadyStored) already in the bucket"
          )
          for digest in report.damaged {
            terminal.warning(
              "\(digest.hex): the local bytes no longer hash to their name; not pushed (artifacts check --read-data --repair)"
            )
          }
          for digest in report.missing {
            terminal.warning(
              "\(digest.hex): named by the catalog but in neither the store nor the bucket (artifacts check)")
          }
        }
        if !report.isComplete { throw ExitCode.incomplete }
      }
    }
  }
}
