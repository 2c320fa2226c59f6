import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

/// The `artifacts` command. Subcommands live in one file each as extensions of this type.
public struct ArtifactsCommand: AsyncParsableCommand {
  public static let version = "0.1.0"

  public static let configuration = CommandConfiguration(
    commandName: "artifacts",
    abstract: "Rescue the files OpenAI's Code Interpreter produces before their containers expire.",
    discussion: """
      Code Interpreter files live in a container that is deleted 20 minutes after its last use. \
      artifacts reads the response logs your app keeps, downloads every cited file while it \
      still exists, stores each distinct content once and remembers where it came from.

      Examples:
        artifacts sync ~/app/logs              download everything the logs cite
        artifacts find chart.png               find an archived file by name
        artifacts find --json csv | jq .path   the same, for scripts
        artifacts show cfile_68cdc39b…         where a file came from
        artifacts export q3.tar.gz --since 90d hand results to someone else
      """,
    version: version,
    subcommands: [
      Sync.self, Find.self, Show.self, Cat.self, Export.self, Import.self, Push.self, Check.self, GC.self,
      Doctor.self, Serve.self, MigrateCatalog.self,
    ]
  )

  public init() {}
}

/// Options every subcommand accepts (after the subcommand name).
struct GlobalOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "The store directory.",
      discussion: "Default: $ARTIFACTS_HOME, else $XDG_DATA_HOME/artifacts, else ~/.local/share/artifacts.",
      valueName: "dir"))
  var store: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Keep the bytes in an S3-compatible bucket instead of the store directory.",
      discussion:
        "Default: $ARTIFACTS_BLOBS, else the store directory. Credentials and endpoint as the AWS tools read them: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 (path-style for custom endpoints). The catalog stays in the store directory.",
      valueName: "s3://bucket/prefix"))
  var blobs: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.",
      discussion:
        "Default: $ARTIFACTS_CATALOG, else catalog.sqlite in the store directory. A libpq URL; what it leaves out comes from the PG* variables, the password from PGPASSWORD or ~/.pgpass. Each host keeps its scan positions under $ARTIFACTS_HOST, else its hostname; the store directory keeps only what is this host's (staging, the local blobs).",
      valueName: "postgresql://user@host/db"))
  var catalog: String?

  @Flag(name: [.short, .long], help: "Print only errors and the result.")
  var quiet = false

  @Flag(name: [.short, .long], help: "Print every file as it is handled.")
  var verbose = false

  @Option(
    name: .long,
    help: ArgumentHelp("When to use colour: auto, always or never (NO_COLOR is honoured).", valueName: "when"))
  var color: ColorChoice = .auto

  var storeRoot: String { store ?? ArtifactStore.defaultRoot() }

  func validate() throws {
    if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
  }

  /// Where the bytes are kept: `--blobs`, else `$ARTIFACTS_BLOBS`, else the store directory.
  func blobSettings(jobs: Int? = nil) -> BlobSettings {
    var settings = BlobSettings.chosen(
      option: blobs, environment: ProcessInfo.processInfo.environment,
      userAgent: "artifacts/\(ArtifactsCommand.version)")
    if let jobs { settings.jobs = jobs }
    return settings
  }

  /// Where the catalog is kept: `--catalog`, else `$ARTIFACTS_CATALOG`, else the store directory.
  func catalogSettings() throws -> CatalogSettings {
    do {
      return try CatalogSettings.chosen(option: catalog, environment: ProcessInfo.processInfo.environment)
    } catch {
      throw CommandFailure(error)
    }
  }

  /// Opens the store: only `sync`, `import` and `push` create one; the others need it to
  /// exist. What the store says about itself as it opens is shown as warnings.
  func openStore(_ access: StoreAccess, jobs: Int? = nil) async throws -> ArtifactStore {
    let store: ArtifactStore
    let catalog = try catalogSettings()
    do {
      store = try await ArtifactStore.open(
        root: storeRoot, access: access, blobs: blobSettings(jobs: jobs), catalog: catalog)
    } catch {
      throw CommandFailure(error)
    }
    let terminal = Terminal(options: self)
    for notice in store.notices { terminal.warning(notice) }
    return store
  }
}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
  case auto, always, never
}
