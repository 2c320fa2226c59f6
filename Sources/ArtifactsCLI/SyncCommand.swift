import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "sync",
      abstract: "Download every file the logs cite that is not archived yet.",
      discussion: """
        Reads response logs (single JSON responses, JSON arrays, JSON Lines, captured event \
        streams, Batch API output; gzip or not), records every container_file_citation with \
        the response, log and line it came from, and downloads each cited file not yet in the \
        store, earliest container deadline first. Files already archived are not downloaded \
        again; identical contents are stored once.

        Each container is asked for its status first: the answer dates its expiry on the \
        server's own clock, and one that is gone loses its files with one request. Containers \
        seen in the logs are listed for files the model made that no citation names (skip with \
        --cited-only). While files wait, containers near expiry are refreshed (--no-keepalive \
        turns that off). Transient failures are retried with backoff, honouring Retry-After; \
        a cut-off body resumes with a Range request.

        Needs OPENAI_API_KEY when there is something to download; honours OPENAI_BASE_URL \
        (an OpenAI-compatible server: a LiteLLM proxy, OCI Generative AI), OPENAI_ORG_ID and \
        OPENAI_PROJECT_ID. Azure OpenAI: AZURE_OPENAI_ENDPOINT with AZURE_OPENAI_API_KEY (or \
        AZURE_OPENAI_AD_TOKEN, an Entra ID token), and OPENAI_API_VERSION when set.

        With --watch, sync first, then follow the logs as the app writes them (inotify, with \
        a rescan every few seconds): each new citing line is read once it is complete and its \
        file downloaded at once. Rotations are followed (rename and create, copytruncate, \
        truncate and rewrite); a log that disappears keeps its history. SIGINT or SIGTERM \
        stops reading, gives transfers under way a few seconds, and exits 0; a second \
        signal exits at once.

        Exit status: 0 done (or a watch stopped by a signal); 3 done, but some cited files \
        could not be archived (listed); 1 could not run; 64 usage.

        Examples:
          artifacts sync ~/app/logs
          artifacts sync --jobs 32 logs/2026-11-*.jsonl.gz
          artifacts sync --dry-run --json logs | jq 'select(.event == "summary")'
          artifacts sync --watch /var/log/myapp --json | jq -c 'select(.event == "download")'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Log files or directories (read recursively).", valueName: "path"))
    var paths: [String] = []

    @Option(
      name: [.short, .long],
      help: ArgumentHelp(
        "Concurrent downloads.",
        discussion:
          "Each file costs at least one round trip to the API, so more in flight means more files a second; over HTTP/2 they share one connection. Container calls (status, listing, keep-alive) go beside them."
      ))
    var jobs = PipelineOptions.defaultJobs

    @Option(
      name: .customLong("response-ids"),
      help: ArgumentHelp(
        "Fetch these responses from the API and read them (one id a line; - reads stdin).",
        discussion:
          "For apps that logged only response ids: GET /v1/responses/{id} (stored responses are kept 30 days). Each fetched response is kept in the store (responses/ID.json) as the citations' provenance, and read as a log whose location is its URL; an id the API does not know is a warning about that line.",
        valueName: "file"))
    var responseIDs: String?

    @Option(
      name: .customLong("conversation"),
      help: ArgumentHelp(
        "Fetch every item of this conversation (conv_…) and read them; repeatable.",
        discussion: "Pages through GET /v1/conversations/{id}/items; the items are kept in the store as one list.",
        valueName: "id"))
    var conversations: [String] = []

    @Flag(name: .long, help: "Scan and record citations, but download nothing.")
    var dryRun = false

    @Flag(
      name: .long,
      help: ArgumentHelp(
        "After the sync, keep following the logs and archive each cited file as soon as its line is written.",
        discussion:
          "Runs until SIGINT or SIGTERM; see Documentation/artifacts-watch.service for running it beside an app."
      ))
    var watch = false

    @Option(
      name: .long,
      help: ArgumentHelp(
        "With --watch: seconds between walks of every path, under inotify (which can drop events).",
        valueName: "seconds"))
    var rescanInterval: Double = 5

    @Flag(name: .long, help: "Print JSON Lines events on stdout; the last one is the summary.")
    var json = false

    @Option(
      name: .customLong("cacert"),
      help: ArgumentHelp(
        "Certificate authorities (PEM) to trust beside the system's, for the API and an HTTPS proxy.",
        discussion:
          "Added to the system's bundle, or to the one CURL_CA_BUNDLE or SSL_CERT_FILE names (which replace the system's, as the official SDKs read them); SSL_CERT_DIR names a hashed directory.",
        valueName: "file"))
    var caBundle: String?

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Whose API: openai or azure (needed only when the environment configures both).", valueName: "provider"))
    var provider: APIProvider?

    @Flag(name: .customLong("no-keepalive"), help: "Do not refresh containers whose files are still waiting.")
    var noKeepAlive = false

    @Flag(name: .long, help: "Download only cited files; do not list containers for the files no citation names.")
    var citedOnly = false

    @Option(
      name: .long, help: ArgumentHelp("Seconds without a byte before a transfer is retried.", valueName: "seconds"))
    var stallTimeout = 60

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Seconds a claim on a file lasts without renewal.",
        discussion:
          "A run renews its claims while their transfers last; one that is killed frees its files this long after its last renewal, for another run or host to take (on a shared catalog, by the database's clock).",
        valueName: "seconds"))
    var lease = 60.0

    func validate() throws {
      if paths.isEmpty && responseIDs == nil && conversations.isEmpty {
        throw ValidationError("name at least one log file or directory to read (or --response-ids, --conversation)")
      }
      if watch && paths.isEmpty { throw ValidationError("--watch follows log files or directories: name some") }
      if watch && (responseIDs != nil || !conversations.isEmpty) {
        throw ValidationError(
          "--watch follows log files; fetch --response-ids and --conversation with a sync of their own")
      }
      if !(1...256).contains(jobs) { throw ValidationError("--jobs takes a number from 1 to 256") }
      if stallTimeout < 1 { throw ValidationError("--stall-timeout takes a positive number of seconds") }
      if !(1...1200).contains(lease) { throw ValidationError("--lease takes a number of seconds from 1 to 1200") }
      if watch && dryRun { throw ValidationError("--watch downloads as it goes; it cannot be a --dry-run") }
      if !(0.1...3600).contains(rescanInterval) {
        throw ValidationError("--rescan-interval takes a number of seconds from 0.1 to 3600")
      }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      let printer = SyncEventPrinter(terminal: terminal, json: json)
      let summary: SyncSummary = try await Self.reportingFailures(terminal) {
        // A sync, batch or watching, touches a catalog page per file: mapped, those pages would
        // count as its own memory (90 MiB at 50,000 files), so it reads through the page cache.
        let store = try await global.openStore(.create, jobs: jobs)
        let api = APISettings(
          environment: ProcessInfo.processInfo.environment, userAgent: "artifacts/\(ArtifactsCommand.version)",
          caBundlePath: caBundle, provider: provider)
        let sync = ArtifactsKit.Sync(store: store, sink: printer, api: api)
        var options = SyncOptions(
          paths: paths, dryRun: dryRun,
          pipeline: PipelineOptions(jobs: jobs, keepAlive: !noKeepAlive, citedOnly: citedOnly, leaseSeconds: lease),
          stallTimeout: stallTimeout)
        options.responseIDs = try responseIDs.map(Self.readIDs)
        options.conversations = conversations
        do {
          guard watch else { return try await sync.run(options) }
          let stop = StopRequest()
          let signals = StopSignals(stop: stop) { _ in printer.stopping() }
          defer { withExtendedLifetime(signals) {} }
          return try await sync.watch(options, watch: WatchOptions(rescanInterval: rescanInterval), stop: stop)
        } catch let error as KitError {
          printer.fatal(error.message)
          throw CommandFailure(error)
        }
      }
      printer.finish(summary, dryRun: dryRun)
      // A watch ends when it is told to: what it could not archive was reported as it happened.
      if !watch && summary.lost + summary.failed > 0 { throw ExitCode.incomplete }
    }

    /// The lines of `--response-ids`: a file, or stdin for `-`.
    static func readIDs(_ name: String) throws -> ResponseIDList {
      let data: Data?
      if name == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
      } else {
        data = FileManager.default.contents(atPath: name)
      }
      guard let data else { throw CommandFailure("cannot read \(name)", exitCode: .unusable) }
      return ResponseIDList(name: name, text: String(decoding: data, as: UTF8.self))
    }
  }
}

extension APIProvider: ExpressibleByArgument {}
