import ArgumentParser
import ArtifactsKit
import ArtifactsWeb
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension ArtifactsCommand {
  struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "serve",
      abstract: "Browse the archive in a web browser: a gallery, search, previews and downloads.",
      discussion: """
        Listens on 127.0.0.1 only and prints one line, the address to open. It carries a random
        token, as Jupyter's does: every page needs it (then a cookie keeps it), and a request
        without it is refused. Scripts may send it as `Authorization: Bearer TOKEN`.

        Archived files were written by a model, so the gallery never runs them: their bytes
        come only from /blob/DIGEST, with a Content-Security-Policy that forbids scripts,
        nosniff, and as a download for anything but raster images and text. HTML and SVG are
        never previewed. Thumbnails (libvips) are made once per image and kept in the store's
        thumbnails/ folder.

        Stops on Ctrl-C. Sync may run at the same time: new files appear on the next page load.

        Examples:
          artifacts serve
          artifacts serve --port 8800 --open
          curl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8700/export?q=chart" -o charts.tar
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Port on 127.0.0.1 (default: 8700, or any free port when it is taken; 0: any).")
    var port: Int?

    @Flag(name: .long, help: "Open the gallery in the default browser (xdg-open).")
    var open = false

    func validate() throws {
      if let port, !(0...65535).contains(port) { throw ValidationError("--port takes 0 to 65535") }
    }

    func run() async throws {
      let terminal = Terminal(options: global)
      try await Self.reportingFailures(terminal) {
        let store = try await global.openStore(.existing)
        // An export streams through a pipe: a browser that goes away must end that export, not the process.
        signal(SIGPIPE, SIG_IGN)
        let server = GalleryServer(
          store: store, configuration: .init(port: port ?? 8700, anyPortIfTaken: port == nil))
        let open = self.open
        let interactive = terminal.stderrIsTerminal
        do {
          try await server.run { address in
            terminal.out(address)
            if interactive { terminal.err("Serving \(store.root); Ctrl-C stops.") }
            if open { Self.openInBrowser(address, terminal: terminal) }
          }
        } catch let error as WebError {
          throw CommandFailure(error.message, exitCode: .unusable)
        }
      }
    }

    static func openInBrowser(_ address: String, terminal: Terminal) {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["xdg-open", address]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      do { try process.run() } catch {
        terminal.warning("cannot open a browser (xdg-open: \(error)); open the address above")
      }
    }
  }
}
