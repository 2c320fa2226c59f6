import ArgumentParser
import ArtifactsCore
import ArtifactsKit
import Foundation

extension ArtifactsCommand {
  struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "doctor",
      abstract: "Check the configuration against the provider and say what is wrong.",
      discussion: """
        Reads the environment as sync does (OpenAI or Azure OpenAI, the key's variable, \
        OPENAI_BASE_URL or AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION, the certificate \
        authorities and the proxy), asks the Containers API for one container (is the key \
        accepted, does the endpoint answer, how far is this machine's clock from the \
        server's Date), and opens the store; with --blobs, reads the bucket (are the AWS \
        credentials accepted, does the bucket exist, does it honour conditional writes). \
        Prints one line per check, with what to do about any problem. No key or secret is \
        ever printed. Writes nothing.

        Exit status: 0 nothing wrong (warnings allowed); 1 a problem was found; 64 usage.

        Examples:
          artifacts doctor
          AZURE_OPENAI_ENDPOINT=https://myres.openai.azure.com artifacts doctor --provider azure
          artifacts doctor --json | jq -r 'select(.status != "ok") | .message'
          artifacts doctor --blobs s3://team-archive/artifacts
        """)

    @OptionGroup var global: GlobalOptions

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Whose API: openai or azure (needed only when the environment configures both).", valueName: "provider"))
    var provider: APIProvider?

    @Option(
      name: .customLong("cacert"),
      help: ArgumentHelp(
        "Certificate authorities (PEM) to trust beside the system's, as sync takes them.", valueName: "file"))
    var caBundle: String?

    @Flag(name: .long, help: "Print one JSON object per check (check, status, message, advice).")
    var json = false

    func run() async throws {
      let terminal = Terminal(options: global)
      let api = APISettings(
        environment: ProcessInfo.processInfo.environment, userAgent: "artifacts/\(ArtifactsCommand.version)",
        caBundlePath: caBundle, provider: provider)
      let findings = await ArtifactsKit.Doctor(
        api: api, storeRoot: global.storeRoot, blobs: global.blobSettings(), catalog: try global.catalogSettings()
      ).run()
      if json {
        terminal.out(lines: Format.jsonLines(findings))
      } else {
        let width = findings.map(\.check.count).max() ?? 0
        for finding in findings {
          let (word, style): (String, Terminal.Style) =
            switch finding.status {
            case .ok: ("ok", .green)
            case .warning: ("warning", .yellow)
            case .problem: ("problem", .red)
            }
          let label = terminal.styled(word.padding(toLength: 7, withPad: " ", startingAt: 0), style)
          terminal.out(
            "\(label)  \(finding.check.padding(toLength: width, withPad: " ", startingAt: 0))  \(finding.message)")
          if let advice = finding.advice { terminal.out(String(repeating: " ", count: width + 11) + "→ " + advice) }
        }
      }
      if findings.contains(where: { $0.status == .problem }) { throw ExitCode.unusable }
    }
  }
}
