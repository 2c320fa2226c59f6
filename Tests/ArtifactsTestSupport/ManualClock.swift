// A clock that moves only when a test says so: the scheduler, keep-alive and leases are tested
// against it without waiting for real time to pass.
import ArtifactsCore
import Foundation
import Synchronization

public final class ManualClock: WallClock {
  private struct Sleeper {
    var wake: Date
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var now: Date
    var sleepers: [UUID: Sleeper] = [:]
  }

  private let state: Mutex<State>

  public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
    state = Mutex(State(now: start))
  }

  public func now() -> Date { state.withLock { $0.now } }

  /// Tasks sleeping on this clock right now.
  public var sleepers: Int { state.withLock { $0.sleepers.count } }

  public func sleep(seconds: Double) async throws {
    let id = UUID()
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let resumeNow: Bool = state.withLock { state in
          if Task.isCancelled { return true }
          let wake = state.now.addingTimeInterval(seconds)
          if wake <= state.now { return true }
          state.sleepers[id] = Sleeper(wake: wake, continuation: continuation)
          return false
        }
        if resumeNow {
          if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { continuation.resume() }
        }
      }
    } onCancel: {
      let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
      sleeper?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Moves time forward, waking every sleeper whose time has come.
  public func advance(by seconds: Double) {
    let woken: [Sleeper] = state.withLock { state in
      state.now = state.now.addingTimeInterval(seconds)
      let now = state.now
      let due = state.sleepers.filter { $0.value.wake <= now }
      for id in due.keys { state.sleepers[id] = nil }
      return Array(due.values)
    }
    for sleeper in woken { sleeper.continuation.resume() }
  }
}

/// Waits (in real time, briefly) until `condition` holds: for the effects of an event on
/// other tasks and threads to land, never for a span of time to pass. Fails after `timeout`.
public func eventually(
  timeout: Double = 10, _ condition: () async throws -> Bool
) async rethrows -> Bool {
  let end = Date().addingTimeInterval(timeout)
  while Date() < end {
    if try await condition() { return true }
    try? await Task.sleep(nanoseconds: 2_000_000)
  }
  return try await condition()
}
