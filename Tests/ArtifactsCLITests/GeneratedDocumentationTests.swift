// Completions and the man page are generated from the command definitions (Scripts/generate-docs)
// and committed; these tests fail when a change to the commands was not regenerated.
import ArtifactsTestSupport
import Foundation
import Testing

struct GeneratedDocumentationTests {
  let binary = TestPaths.binary("artifacts")
  let documentation = TestPaths.packageRoot.appendingPathComponent("Documentation")

  @Test(arguments: ["bash", "zsh", "fish"])
  func completionScriptIsCurrent(_ shell: String) throws {
    let generated = try run(binary, ["--generate-completion-script", shell], environment: [:]).stdout
    let committed = try String(
      contentsOf: documentation.appendingPathComponent("completions/artifacts.\(shell)"), encoding: .utf8)
    #expect(generated == committed, "run Scripts/generate-docs")
  }

  @Test func manPageNamesEveryCommandAndOption() throws {
    let manual = try String(contentsOf: documentation.appendingPathComponent("man/artifacts.1"), encoding: .utf8)
    let dump = try run(binary, ["--experimental-dump-help"], environment: [:]).stdout
    let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
    let commands = try #require((root["command"] as? [String: Any])?["subcommands"] as? [[String: Any]])
    for command in commands {
      let name = try #require(command["commandName"] as? String)
      guard name != "help" else { continue }
      #expect(manual.contains("Em \(name)"), "the man page lacks \(name): run Scripts/generate-docs")
      for argument in command["arguments"] as? [[String: Any]] ?? [] {
        for spelling in argument["names"] as? [[String: Any]] ?? [] where spelling["kind"] as? String == "long" {
          let option = try #require(spelling["name"] as? String)
          guard option != "help" && option != "version" else { continue }
          #expect(manual.contains(" -\(option)"), "the man page lacks \(name) --\(option): run Scripts/generate-docs")
        }
      }
    }
  }

  static let commands = ["sync", "find", "show", "cat", "export", "import", "push", "check", "gc", "doctor", "serve", "migrate-catalog"]

  @Test(arguments: commands)
  func everyCommandHasAnAbstractADiscussionAndExamples(_ command: String) throws {
    let help = try run(binary, [command, "--help"], environment: ["COLUMNS": "100"])
    #expect(help.status == 0)
    #expect(help.stdout.hasPrefix("OVERVIEW: "), "\(command)")
    #expect(help.stdout.contains("Examples:"), "\(command) --help has no examples")
    #expect(help.stdout.contains("artifacts \(command)"), "\(command) examples use the command")
    // A line continuation written as `\\` in a Swift literal shows up as a backslash.
    let stray = help.stdout.split(separator: "\n").filter { $0.hasSuffix("\\") || $0.contains("\\ ") }
    #expect(stray.isEmpty, "\(command) --help shows backslashes: \(stray)")
  }

  @Test func theManPageShowsNoStrayBackslashes() throws {
    let manual = try String(contentsOf: documentation.appendingPathComponent("man/artifacts.1"), encoding: .utf8)
    // roff writes a backslash as \e.
    let stray = manual.split(separator: "\n").filter { $0.hasSuffix("\\e") }
    #expect(stray.isEmpty, "\(stray.prefix(3))")
  }

  @Test func commandsAreListedInTheOrderPeopleUseThem() throws {
    let help = try run(binary, ["--help"], environment: [:]).stdout
    let list = try #require(help.components(separatedBy: "SUBCOMMANDS:").last)
    // Commands listed in the order people use them.
    let order = ["sync", "find", "show", "cat", "export", "import"].compactMap {
      list.range(of: "  \($0) ")?.lowerBound
    }
    #expect(order.count == 6 && order == order.sorted())
  }
}
