// How `find` and `export` choose files: the same pattern rules and filters for both.
import ArgumentParser
import ArtifactsCore
import Foundation

struct SelectionOptions: ParsableArguments {
  @Argument(
    help: ArgumentHelp(
      "Part of the file name; a glob when it has * ? or [ (whole name); smart case.", valueName: "pattern"))
  var pattern: String?

  @Flag(name: [.short, .long], help: "Treat the pattern as a regular expression.")
  var regex = false

  @Flag(name: [.customShort("x"), .long], help: "Match the whole name exactly.")
  var exact = false

  @Option(name: .long, help: ArgumentHelp("Only files from this container.", valueName: "cntr_…"))
  var container: String?

  @Option(name: .long, help: ArgumentHelp("Only files cited by this response.", valueName: "resp_…"))
  var response: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Only files cited by responses of this model (gpt-5 matches gpt-5-2025-08-07).", valueName: "model"))
  var model: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Only files cited since a date (2026-11-01) or for a duration (7d, 12h, 30m, 2w).", valueName: "when"))
  var since: TimeArgument?

  @Option(name: .long, help: ArgumentHelp("Only files cited before a date or duration ago.", valueName: "when"))
  var until: TimeArgument?

  @Option(
    name: [.short, .customLong("ext")], parsing: .singleValue,
    help: ArgumentHelp("Only names with this extension (repeatable).", valueName: "ext"))
  var extensions: [String] = []

  @Option(
    name: [.short, .long],
    help: ArgumentHelp("Only this media type, or its family (image, text/csv).", valueName: "type"))
  var type: String?

  @Option(
    name: .long, parsing: .singleValue,
    help: ArgumentHelp("States to include (repeatable): archived (default), pending, lost, failed.", valueName: "state")
  )
  var state: [FileStateArgument] = []

  @Option(
    name: .long,
    help: ArgumentHelp("Order: name (default), newest, oldest (newest reversed), size.", valueName: "order"))
  var sort: SortArgument = .init(.name)

  @Option(name: .long, help: "At most this many files.")
  var limit: Int?

  func validate() throws {
    if regex && exact { throw ValidationError("--regex and --exact cannot be used together") }
    if let limit, limit < 1 { throw ValidationError("--limit takes a positive number") }
    if let pattern, regex, (try? NSRegularExpression(pattern: pattern)) == nil {
      throw ValidationError("--regex: \(pattern) is not a valid regular expression")
    }
  }

  var query: FindQuery {
    let states = Set(state.map(\.state))
    return FindQuery(
      pattern: pattern.flatMap { $0.isEmpty ? nil : FindQuery.pattern($0, regex: regex, exact: exact) },
      containerID: container, responseID: response, model: model, since: since?.unixSeconds,
      until: until?.unixSeconds,
      extensions: extensions.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }, mediaType: type,
      states: states.isEmpty ? [.archived] : states, sort: sort.sort, limit: limit)
  }
}

struct FileStateArgument: ExpressibleByArgument {
  var state: FileState

  init?(argument: String) {
    guard let state = FileState(rawValue: argument.lowercased()) else { return nil }
    self.state = state
  }

  static var allValueStrings: [String] { FileState.allCases.map(\.rawValue) }
}

struct SortArgument: ExpressibleByArgument {
  var sort: FindQuery.Sort

  init(_ sort: FindQuery.Sort) { self.sort = sort }

  init?(argument: String) {
    guard let sort = FindQuery.Sort(rawValue: argument.lowercased()) else { return nil }
    self.sort = sort
  }

  static var allValueStrings: [String] { FindQuery.Sort.allCases.map(\.rawValue) }
  var defaultValueDescription: String { sort.rawValue }
}

/// A point in time: an ISO date (`2026-11-01`, `2026-11-01T10:30`, with or without `Z`), or a
/// duration before now (`90s`, `30m`, `12h`, `7d`, `2w`).
struct TimeArgument: ExpressibleByArgument {
  var unixSeconds: Int64

  init?(argument: String) {
    guard let seconds = TimeExpression.unixSeconds(argument) else { return nil }
    unixSeconds = seconds
  }
}

/// `90s`, `30m`, `12h`, `7d`, `2w`: how `--since`, `--until`, `--older-than`, `--grace` and
/// `--budget` spell a length of time.
enum Duration {
  static func seconds(_ text: String) -> Double? { TimeExpression.seconds(text) }
}
