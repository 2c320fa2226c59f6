// What a person sees: the live progress line in a real pseudo-terminal (tmux), and nothing of
// it when the output is piped.
import ArtifactsEmulator
import ArtifactsTestSupport
import Foundation
import Testing

struct TerminalDisplayTests {
  let key = "sk-terminal-test"
  let binary = TestPaths.binary("artifacts")
  let tmux = URL(fileURLWithPath: "/usr/bin/tmux")

  func world() throws -> (ContainersEmulator, TemporaryDirectory) {
    let emulator = try ContainersEmulator.started(apiKey: key)
    emulator.setLatency(0.05)
    let files = (0..<60).map {
      EmulatedFile(id: FakeID.file($0), path: "/mnt/data/\($0).csv", bytes: Array(repeating: UInt8($0), count: 20_000))
    }
    let container = emulator.addContainer(id: FakeID.container(42), files: files)
    let logs = TemporaryDirectory("logs")
    logs.write(
      "a.jsonl",
      responseLine(id: FakeID.response(42), container: container, files: files.map { ($0.id, "\($0.id).csv") }) + "\n")
    return (emulator, logs)
  }

  /// Runs `command` in a detached 160x40 tmux terminal, then `steps` (shell, with `$S` the
  /// tmux socket), then ends the session; returns what the steps printed.
  func inTmux(_ command: [String], steps: String, scratch: TemporaryDirectory) throws -> ProcessResult {
    let socket = "artifacts-test-\(UUID().uuidString.prefix(8))"
    let script = scratch.write(
      "drive-tmux.sh",
      """
      S=\(socket)
      tmux -L $S new-session -d -x 160 -y 40 '\(command.joined(separator: " "))' </dev/null >/dev/null 2>&1 || exit 1
      \(steps)
      tmux -L $S kill-server
      """)
    return try run(URL(fileURLWithPath: "/bin/sh"), [script], environment: ["TERM": "xterm-256color"])
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")))
  func progressIsDrawnInPlaceOnATerminalAndClearedAtTheEnd() throws {
    let (emulator, logs) = try world()
    defer { emulator.stop() }
    let store = TemporaryDirectory("store")
    let command = [
      "env", "OPENAI_API_KEY=\(key)", "OPENAI_BASE_URL=\(emulator.baseURL)", "NO_COLOR=1", binary.path, "sync",
      "--jobs", "1", "--store", store.path, logs.path, ";", "echo", "EXIT=$?", ";", "sleep", "60",
    ]
    // Sample the screen every 0.1 s; report the last progress line seen and the final screen.
    let report = try inTmux(
      command,
      steps: """
        progress=""
        for i in $(seq 300); do
          screen=$(tmux -L $S capture-pane -p)
          line=$(printf '%s\\n' "$screen" | grep '/60 files' | head -1)
          [ -n "$line" ] && progress="$line"
          case "$screen" in *EXIT=*) break ;; esac
          sleep 0.1
        done
        echo "PROGRESS:$progress"
        echo "FINAL:"
        tmux -L $S capture-pane -p
        """, scratch: store)
    let sawProgress = report.stdoutLines.first { $0.hasPrefix("PROGRESS:") } ?? ""
    let final = report.stdout.components(separatedBy: "FINAL:\n").last ?? ""
    #expect(sawProgress.contains("/s"), "the progress line shows a rate: \(sawProgress)")
    #expect(final.contains("EXIT=0"), "\(final)")
    #expect(final.contains("archived          60"))
    // Cleared at the end: the last screen holds the summary, not a stale progress line.
    #expect(!final.contains("ETA") && !final.contains("/60 files"), "\(final)")
  }

  /// A watch on a terminal: its status line (logs watched, files archived, the last one,
  /// containers alive), and Ctrl-C ending it cleanly with the summary.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")))
  func aWatchShowsItsStatusLineAndStopsOnControlC() throws {
    let (emulator, logs) = try world()
    defer { emulator.stop() }
    let store = TemporaryDirectory("store")
    let command = [
      "env", "OPENAI_API_KEY=\(key)", "OPENAI_BASE_URL=\(emulator.baseURL)", "NO_COLOR=1", binary.path, "sync",
      "--watch", "--cited-only", "--store", store.path, logs.path, ";", "echo", "EXIT=$?", ";", "sleep", "60",
    ]
    let report = try inTmux(
      command,
      steps: """
        status=""
        for i in $(seq 300); do
          line=$(tmux -L $S capture-pane -p | grep '60 archived' | head -1)
          [ -n "$line" ] && { status="$line"; break; }
          sleep 0.1
        done
        echo "STATUS:$status"
        tmux -L $S send-keys C-c
        for i in $(seq 150); do
          case "$(tmux -L $S capture-pane -p)" in *EXIT=*) break ;; esac
          sleep 0.1
        done
        echo "FINAL:"
        tmux -L $S capture-pane -p
        """, scratch: store)
    let status = report.stdoutLines.first { $0.hasPrefix("STATUS:") } ?? ""
    let final = report.stdout.components(separatedBy: "FINAL:\n").last ?? ""
    #expect(status.contains("watching 1 log · 60 archived, last "), "\(status)")
    #expect(status.contains("1 container alive"), "\(status)")
    #expect(final.contains("EXIT=0"), "\(final)")
    #expect(final.contains("archived          60"), "\(final)")
  }

  @Test func pipedOutputHasNoProgressAndNoEscapes() throws {
    let (emulator, logs) = try world()
    defer { emulator.stop() }
    let store = TemporaryDirectory("store")
    let result = try run(
      binary, ["sync", "--jobs", "4", "--store", store.path, logs.path],
      environment: ["OPENAI_API_KEY": key, "OPENAI_BASE_URL": emulator.baseURL])
    #expect(result.status == 0)
    #expect(!result.stderr.contains("\u{1B}[") && !result.stdout.contains("\u{1B}["))
    #expect(!result.stderr.contains("/60 files"))
    let colored = try run(
      binary, ["find", "--store", store.path, "--color", "always", "--json", "1.csv"], environment: [:])
    #expect(!colored.stdout.contains("\u{1B}["), "JSON is never coloured")
  }
}
