// `doctor`: checks the configuration against the provider — which API, which credential
// variable, the certificate authorities and proxy in use, whether the key is accepted and the
// Containers API answers, how far the local clock is from the server's, whether the store
// opens — and says in plain words what is wrong and what to do. It reads and lists; it never
// writes to the store or changes a container.
import ArtifactsCore
import ArtifactsFetch
import ArtifactsObjectStore
import Foundation

public struct DoctorFinding: Sendable, Codable, Equatable {
  public enum Status: String, Sendable, Codable {
    case ok, warning, problem
  }

  /// What was checked: `configuration`, `certificates`, `proxy`, `api`, `clock`, `store`.
  public var check: String
  public var status: Status
  public var message: String
  /// What to do about it, when there is something to do.
  public var advice: String?

  public init(_ check: String, _ status: Status, _ message: String, advice: String? = nil) {
    self.check = check
    self.status = status
    self.message = message
    self.advice = advice
  }
}

public struct Doctor: Sendable {
  public let api: APISettings
  public let storeRoot: String
  /// Where the bytes are kept: a bucket is checked too.
  public let blobs: BlobSettings
  /// A local clock this far from the server's is worth saying (deadlines are computed on the
  /// server's clock anyway, but the catalog's times and `--since` use the local one).
  public static let clockTolerance: Double = 5

  public let catalog: CatalogSettings

  public init(api: APISettings, storeRoot: String, blobs: BlobSettings = .local, catalog: CatalogSettings = .local) {
    self.catalog = catalog
    self.api = api
    self.storeRoot = storeRoot
    self.blobs = blobs
  }

  public func run() async -> [DoctorFinding] {
    var findings: [DoctorFinding] = []
    let configuration: APIConfiguration
    do throws(KitError) {
      let trust = try api.trust()
      configuration = try api.configuration(trust: trust, connectTimeout: 10, stallTimeout: 15)
    } catch {
      findings.append(DoctorFinding("configuration", .problem, error.message))
      findings.append(await store())
      if let bucket = await bucket() { findings.append(bucket) }
      return findings
    }
    findings.append(Self.describe(configuration))
    findings.append(DoctorFinding("certificates", .ok, "TLS is verified against \(configuration.trust.description)"))
    if configuration.isLoopback {
      findings.append(DoctorFinding("proxy", .ok, "none: \(configuration.baseURL) is this machine"))
    } else if let proxy = configuration.proxy {
      findings.append(DoctorFinding("proxy", .ok, "requests go through \(proxy.description)"))
    } else {
      findings.append(DoctorFinding("proxy", .ok, "none: requests go straight to \(configuration.baseURL)"))
    }
    findings += await probe(configuration)
    findings.append(await store())
    if let bucket = await bucket() { findings.append(bucket) }
    return findings
  }

  /// With `--blobs`: the credentials, the bucket, and whether it honours conditional writes.
  /// Only reads (the marker a first sync leaves).
  private func bucket() async -> DoctorFinding? {
    guard case .objectStore(let uri) = blobs.location else { return nil }
    let settings = blobs
    return await blocking { () -> DoctorFinding in
      let configuration: ObjectStoreConfiguration
      do throws(FetchError) {
        configuration = try ObjectStoreConfiguration.fromEnvironment(
          settings.environment, location: uri, userAgent: settings.userAgent)
      } catch {
        return DoctorFinding("blobs", .problem, error.message)
      }
      let client = ObjectStoreClient(
        configuration: configuration, maximumConcurrent: 1,
        policy: RetryPolicy(maximumAttempts: 3, baseDelay: 0.2, maximumDelay: 1, maximumServerDelay: 5))
      defer { client.shutdown() }
      let place = "\(configuration.uri) at \(configuration.endpointURL) (region \(configuration.region))"
      do throws(ObjectStoreError) {
        switch try S3BlobStore.rememberedConditionalWrites(client) {
        case true?:
          return DoctorFinding(
            "blobs", .ok, "\(place): the credentials are accepted and the bucket honours conditional writes")
        case false?:
          return DoctorFinding(
            "blobs", .warning, "\(place): the bucket ignores If-None-Match",
            advice:
              "uploads ask with a HEAD first, so deduplication holds, but two hosts storing the same new bytes at once both upload them"
          )
        case nil:
          return DoctorFinding(
            "blobs", .ok,
            "\(place): the credentials are accepted; nothing is stored there yet (the first sync checks that the bucket honours conditional writes)"
          )
        }
      } catch {
        return DoctorFinding(
          "blobs", .problem, error.message, advice: "check the bucket and \(configuration.endpointVariable)")
      }
    }
  }

  static func describe(_ configuration: APIConfiguration) -> DoctorFinding {
    let credential =
      configuration.authentication == .apiKeyHeader
      ? "the key in \(configuration.credentialVariable), sent as an api-key header"
      : "\(configuration.credentialVariable), sent as a bearer token"
    var message =
      "\(configuration.provider == .azure ? "Azure OpenAI" : "OpenAI (or a compatible server)") at \(configuration.baseURL) (from \(configuration.baseURLVariable)), with \(credential)"
    if let version = configuration.apiVersion { message += ", api-version \(version)" }
    if let organization = configuration.organization { message += ", organization \(organization)" }
    if let project = configuration.project { message += ", project \(project)" }
    return DoctorFinding("configuration", .ok, message)
  }

  /// One listing of containers: the key, the endpoint, and the server's clock.
  private func probe(_ configuration: APIConfiguration) async -> [DoctorFinding] {
    let engine: TransferEngine
    do {
      engine = try TransferEngine(
        configuration: configuration, maximumConcurrent: 1,
        policy: RetryPolicy(maximumAttempts: 3, baseDelay: 0.2, maximumDelay: 1, maximumServerDelay: 5))
    } catch {
      return [DoctorFinding("api", .problem, error.message)]
    }
    let sent = Date()
    let outcome = await engine.get("/containers?limit=1")
    let received = Date()
    await blocking { engine.shutdown() }
    switch outcome {
    case .ok(let answer):
      var findings = [
        DoctorFinding(
          "api", .ok,
          "the key was accepted and the Containers API answered GET \(configuration.url("/containers?limit=1")) in \(Int(received.timeIntervalSince(sent) * 1000)) ms"
        )
      ]
      if let serverDate = answer.serverDate {
        // The server read its clock between `sent` and `received`, and `Date` drops the
        // fraction of a second: only a reading outside that window is skew, by its distance.
        let serverLatest = serverDate.addingTimeInterval(1)
        let skew =
          serverLatest < sent
          ? sent.timeIntervalSince(serverLatest) : serverDate > received ? -serverDate.timeIntervalSince(received) : 0
        if abs(skew) > Self.clockTolerance {
          findings.append(
            DoctorFinding(
              "clock", .warning,
              "this machine's clock is \(Int(abs(skew).rounded())) s \(skew > 0 ? "ahead of" : "behind") the server's",
              advice:
                "expiry is computed on the server's clock, so nothing is lost, but times in the catalog and --since use this one: run an NTP client (timedatectl set-ntp true)"
            ))
        } else {
          findings.append(DoctorFinding("clock", .ok, "within \(Int(Self.clockTolerance)) s of the server's"))
        }
      } else {
        findings.append(
          DoctorFinding("clock", .warning, "the server sent no Date header: its clock cannot be compared"))
      }
      return findings
    case .unarchived(let reason):
      return [
        DoctorFinding(
          "api", .problem, "GET /containers did not work: \(reason.message)",
          advice: "check \(configuration.baseURLVariable) and that the key's project can use containers")
      ]
    case .cancelled:
      guard let fatal = engine.fatalError else { return [DoctorFinding("api", .problem, "the request was cancelled")] }
      if case .credentialsRejected = fatal.code {
        return [
          DoctorFinding(
            "api", .problem, fatal.message,
            advice:
              "use a key of the project (or Azure resource) whose logs these are: \(configuration.credentialVariables)")
        ]
      }
      return [DoctorFinding("api", .problem, fatal.message)]
    }
  }

  private func store() async -> DoctorFinding {
    let root = storeRoot
    let catalog = self.catalog
    return await blocking { () -> DoctorFinding in
      do throws(KitError) {
        let store = try ArtifactStore(root: root, access: .existing, catalog: catalog)
        guard access(store.root, W_OK) == 0 else {
          return DoctorFinding(
            "store", .problem, "the store at \(store.root) cannot be written",
            advice: "fix its permissions or use --store")
        }
        let problems = try backend { try store.catalog.integrityProblems() }
        if let first = problems.first {
          return DoctorFinding(
            "store", .problem, "the catalog \(store.catalogDescription) has problems: \(first)",
            advice: "run artifacts check for the whole report")
        }
        if case .postgres = catalog.location {
          return DoctorFinding(
            "store", .ok,
            "the catalog \(store.catalogDescription) opens and is consistent; this host's files are in \(store.root)")
        }
        return DoctorFinding("store", .ok, "the store at \(store.root) opens and its catalog is consistent")
      } catch  where error.code == .noStore {
        return DoctorFinding("store", .warning, error.message)
      } catch {
        return DoctorFinding("store", .problem, error.message)
      }
    }
  }
}
