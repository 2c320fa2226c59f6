// Azure OpenAI as its SDK is configured, against the emulator playing Azure: the endpoint's
// /openai/v1 paths, the api-key header (or an Entra token as a bearer), api-version on every
// request, and lifetimes taken from the container object (Azure's 30-minute idle timeout).
import ArtifactsCore
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

@testable import ArtifactsKit

struct ProviderTests {
  func sync(_ world: KitWorld, _ environment: [String: String], provider: APIProvider? = nil) async throws(KitError)
    -> (SyncSummary, RecordingSink)
  {
    let sink = RecordingSink()
    let sync = Sync(
      store: try ArtifactStore(root: world.directory.file("store"), access: .create), sink: sink,
      api: APISettings(environment: environment, userAgent: "artifacts-tests", provider: provider))
    let summary = try await sync.run(SyncOptions(paths: [world.directory.file("logs")]))
    return (summary, sink)
  }

  @Test func azureWithAnAPIKey() async throws {
    let world = try KitWorld(ttl: 30 * 60)
    world.emulator.setFlavor(.azure)
    world.cite(2)
    let (summary, sink) = try await sync(
      world,
      [
        "AZURE_OPENAI_ENDPOINT": world.emulator.endpoint + "/", "AZURE_OPENAI_API_KEY": world.key,
        "OPENAI_API_VERSION": "preview",
      ])
    #expect(summary.archived == 2)
    let requests = world.emulator.requestLog
    #expect(!requests.isEmpty)
    #expect(requests.allSatisfy { $0.authorized && $0.path.hasPrefix("/v1/containers/") })
    #expect(requests.allSatisfy { $0.query["api-version"] == "preview" })
    #expect(requests.allSatisfy { $0.headers["api-key"] == "<set>" && $0.headers["authorization"] == nil })
    // The lifetime is the container's own (30 minutes idle here), not OpenAI's 20.
    let lifetimes = sink.all.compactMap { event -> Double? in
      if case .containerAlive(_, let secondsLeft) = event { secondsLeft } else { nil }
    }
    #expect(!lifetimes.isEmpty && lifetimes.allSatisfy { $0 > 25 * 60 && $0 <= 30 * 60 + 1 })
  }

  @Test func azureWithAnEntraToken() async throws {
    let world = try KitWorld()
    world.emulator.setFlavor(.azure)
    world.cite(1)
    let (summary, _) = try await sync(
      world, ["AZURE_OPENAI_ENDPOINT": world.emulator.endpoint + "/openai/v1", "AZURE_OPENAI_AD_TOKEN": world.key])
    #expect(summary.archived == 1)
    let requests = world.emulator.requestLog
    #expect(requests.allSatisfy { $0.headers["authorization"] == "<set>" && $0.headers["api-key"] == nil })
    #expect(requests.allSatisfy { $0.query["api-version"] == nil })
  }

  @Test func bothProvidersConfiguredIsAQuestion() async throws {
    let world = try KitWorld()
    world.emulator.setFlavor(.azure)
    world.cite(1)
    let environment = [
      "AZURE_OPENAI_ENDPOINT": world.emulator.endpoint, "AZURE_OPENAI_API_KEY": world.key,
      "OPENAI_API_KEY": "sk-other-0123456789",
    ]
    do {
      _ = try await sync(world, environment)
      Issue.record("an ambiguous environment was not refused")
    } catch {
      #expect(error.code == .configuration)
      #expect(error.message.contains("--provider azure"))
      #expect(!error.message.contains(world.key))
    }
    let (summary, _) = try await sync(world, environment, provider: .azure)
    #expect(summary.archived == 1)
  }

  @Test func azureWithoutAKeySaysWhichVariables() async throws {
    let world = try KitWorld()
    world.cite(1)
    do {
      _ = try await sync(world, ["AZURE_OPENAI_ENDPOINT": world.emulator.endpoint])
      Issue.record("no key was accepted")
    } catch {
      #expect(error.message.contains("AZURE_OPENAI_API_KEY") && error.message.contains("AZURE_OPENAI_AD_TOKEN"))
    }
  }

  @Test func theOpenAIPathsAreNotAzures() async throws {
    let world = try KitWorld()
    world.emulator.setFlavor(.azure)
    world.cite(1)
    // An Azure resource's endpoint used as an OpenAI base URL: every request misses the API.
    let sink = RecordingSink()
    let sync = Sync(
      store: try world.store(), sink: sink,
      api: APISettings(
        environment: ["OPENAI_API_KEY": world.key, "OPENAI_BASE_URL": world.emulator.endpoint + "/v1"],
        userAgent: "t"))
    await #expect(throws: KitError.self) {
      _ = try await sync.run(SyncOptions(paths: [world.directory.file("logs")]))
    }
  }
}
