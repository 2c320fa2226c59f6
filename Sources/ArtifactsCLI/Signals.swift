// SIGINT and SIGTERM for a command that stops cleanly (`sync --watch`): the first asks the run
// to stop, a second exits at once (128 + the signal, as a shell reports it).
import ArtifactsKit
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

final class StopSignals {
  private let sources: [any DispatchSourceSignal]

  /// `onFirst` is told which signal came first (for a message); `stop` is asked to stop.
  init(stop: StopRequest, onFirst: @escaping @Sendable (Int32) -> Void) {
    let queue = DispatchQueue(label: "artifacts.signals")
    let received = ManagedCounter()
    sources = [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
      source.setEventHandler {
        if received.increment() > 1 { exit(128 + number) }
        onFirst(number)
        stop.request()
      }
      source.resume()
      return source
    }
  }

  deinit {
    for source in sources { source.cancel() }
  }
}

private final class ManagedCounter: Sendable {
  private let count = Mutex(0)
  func increment() -> Int {
    count.withLock { count in
      count += 1
      return count
    }
  }
}
