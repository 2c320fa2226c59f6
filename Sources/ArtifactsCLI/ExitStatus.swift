import ArgumentParser
import ArtifactsKit

/// Exit codes are part of the contract with scripts (DESIGN.md).
extension ExitCode {
  /// Finished, but some cited files could not be archived (they are listed in the summary).
  static let incomplete = ExitCode(3)
  /// Could not run: bad configuration, rejected credentials, unusable store.
  static let unusable = ExitCode(1)
  /// Nothing matched (like grep).
  static let noMatch = ExitCode(1)
}

/// An error the CLI reports as one line on stderr before exiting with `exitCode`.
struct CommandFailure: Error {
  var message: String
  var exitCode: ExitCode

  init(_ message: String, exitCode: ExitCode) {
    self.message = message
    self.exitCode = exitCode
  }

  init(_ error: KitError) {
    switch error.code {
    case .noMatch: self.init(error.message, exitCode: .noMatch)
    case .unusableStore, .noStore, .configuration, .credentialsRejected, .missingInput:
      self.init(error.message, exitCode: .unusable)
    }
  }
}

extension ParsableCommand {
  /// Runs `body`, turning a `CommandFailure` into its message on stderr and its exit code.
  static func reportingFailures<T>(_ terminal: Terminal, _ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let failure as CommandFailure {
      terminal.error(failure.message)
      throw failure.exitCode
    } catch let error as KitError {
      let failure = CommandFailure(error)
      terminal.error(failure.message)
      throw failure.exitCode
    }
  }
}
