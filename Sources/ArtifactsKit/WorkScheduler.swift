// The queue of files to download, per container, earliest deadline first. A container's files
// are handed out once its probe has answered; `next` waits for that, and for the feed to
// close, before it says there is nothing left. One scheduler lives as long as the pipeline:
// scan passes add work to it whenever they find some.
import ArtifactsCore
import Foundation

/// A container with files still waiting, as keep-alive and the progress line see it.
public struct WaitingContainer: Sendable, Equatable {
  public var id: String
  public var deadline: Date
  public var lifetime: Double
  public var files: Int
}

actor WorkScheduler {
  private struct Queue {
    var items: [WorkItem] = []
    var deadline: Date?
    var lifetime: Double?
    var inFlight = 0
    var gone = false
    /// The container's status was asked (whatever the answer).
    var probed = false
  }

  private var queues: [String: Queue] = [:]
  /// Files queued, counted as they come and go (not recounted per question).
  private var queued = 0
  /// More work may still arrive (a scan pass, listing, a watcher).
  private var feeding = true
  /// Containers whose probe was asked for and has not answered.
  private var probing = Set<String>()
  /// Planning under way (probes, listing) that may still add work.
  private var holds = 0
  /// The run cannot go on: hand out nothing more.
  private var stopped = false
  private var waiters: [CheckedContinuation<Void, Never>] = []
  /// Files already queued or in flight, so a rescan that finds them again adds nothing.
  private var known = Set<Int64>()
  /// What the last probe of each container said, kept after its queue drained: a watcher
  /// that feeds the same container again does not ask again while the answer is fresh.
  /// Dropped once the deadline passes, so it holds only containers used within a lifetime.
  private var answered: [String: (deadline: Date, lifetime: Double)] = [:]

  init() {}

  /// Queues work; files already queued or in flight are skipped. Returns the files added.
  @discardableResult
  func add(_ work: [WorkItem]) -> Int {
    var added = 0
    for item in work where !known.contains(item.rowID) {
      var queue = queues[item.file.containerID] ?? Queue()
      if queue.gone { continue }
      queue.items.append(item)
      if queue.deadline == nil { queue.deadline = item.deadline }
      queues[item.file.containerID] = queue
      known.insert(item.rowID)
      added += 1
    }
    queued += added
    if added > 0 { wakeAll() }
    return added
  }

  /// Containers (among `ids`) whose status has not been asked yet, or was asked so long ago
  /// that a third of their lifetime or less is left; they are marked as being probed, so each
  /// is asked once. `now` nil: every container not probed yet (no earlier answer counts).
  func unprobed(_ ids: Set<String>, now: Date? = nil) -> [String] {
    if let now { answered = answered.filter { $0.value.deadline > now } }
    var new: [String] = []
    for id in ids.sorted() where queues[id]?.probed != true && queues[id]?.gone != true && !probing.contains(id) {
      if let now, let known = answered[id], known.deadline.timeIntervalSince(now) > known.lifetime / 3 {
        var queue = queues[id] ?? Queue()
        queue.probed = true
        queue.deadline = known.deadline
        queue.lifetime = known.lifetime
        queues[id] = queue
        continue
      }
      new.append(id)
    }
    for id in new { queues[id, default: Queue()].probed = false }
    probing.formUnion(new)
    return new
  }

  /// The probe of `id` has answered (whatever it said): its files may start.
  func markProbed(_ id: String) {
    queues[id, default: Queue()].probed = true
    probing.remove(id)
    wakeAll()
  }

  /// Planning that may add work has started; `next` will not say "done" until it is released.
  func holdFeed() { holds += 1 }

  func releaseFeed() {
    holds -= 1
    if holds == 0 { queues = queues.filter { !Self.isForgettable($0.value) } }
    wakeAll()
  }

  /// Nothing of the container waits or runs: its queue can go (a gone one is remembered).
  private static func isForgettable(_ queue: Queue) -> Bool {
    queue.items.isEmpty && queue.inFlight == 0 && !queue.gone
  }

  /// Hands out nothing more: the run is stopping.
  func stop() {
    stopped = true
    wakeAll()
  }

  /// Some waiting files' containers have not answered their probe yet.
  var hasUnprobedWork: Bool { queues.values.contains { !$0.probed && !$0.items.isEmpty } }

  /// No more work will be fed: once the queue is empty, `next` returns nil.
  func closeFeed() {
    feeding = false
    wakeAll()
  }

  var queuedCount: Int { queued }
  func isGone(_ id: String) -> Bool { queues[id]?.gone ?? false }
  func deadline(of id: String) -> Date? { queues[id]?.deadline }

  /// The next file: from the probed container whose deadline is earliest (undated ones last).
  /// Waits while files wait for their probe or more work may come; nil when all is done.
  func next() async -> WorkItem? {
    while !stopped {
      if let item = take() { return item }
      guard feeding || !probing.isEmpty || holds > 0 || queued > 0 else { return nil }
      await withCheckedContinuation { waiters.append($0) }
    }
    return nil
  }

  /// Returns once fewer than `count` files are queued (or nothing more will be handed out):
  /// a feeder reading the queue a page at a time waits here before reading the next one.
  func waitForRoom(below count: Int) async {
    while !stopped && queued >= count {
      await withCheckedContinuation { waiters.append($0) }
    }
  }

  private func take() -> WorkItem? {
    var best: (id: String, deadline: Date)?
    for (id, queue) in queues where queue.probed && !queue.items.isEmpty {
      let deadline = queue.deadline ?? .distantFuture
      if best == nil || (deadline, id) < (best!.deadline, best!.id) { best = (id, deadline) }
    }
    guard let id = best?.id else { return nil }
    queues[id]!.inFlight += 1
    queued -= 1
    return queues[id]!.items.removeFirst()
  }

  func finished(_ item: WorkItem) {
    queues[item.file.containerID]?.inFlight -= 1
    known.remove(item.rowID)
    // Forget a container once nothing of it waits, so a long-lived pipeline does not keep
    // every container it ever saw; gone ones are remembered so late work for them is refused.
    // Not while planning is under way: listing may still add files to it, and a queue made
    // anew would wait for a probe nobody asks for (releaseFeed forgets it instead).
    if holds == 0, let queue = queues[item.file.containerID], Self.isForgettable(queue) {
      queues[item.file.containerID] = nil
    }
    wakeAll()
  }

  func update(_ id: String, deadline: Date, lifetime: Double) {
    answered[id] = (deadline, lifetime)
    var queue = queues[id] ?? Queue()
    queue.deadline = deadline
    queue.lifetime = lifetime
    queues[id] = queue
  }

  /// Marks the container gone; returns its files that were still waiting (now dequeued).
  func markGone(_ id: String) -> [WorkItem] {
    var queue = queues[id] ?? Queue()
    let waiting = queue.items
    queue.items = []
    queue.gone = true
    queue.probed = true
    queues[id] = queue
    answered[id] = nil
    probing.remove(id)
    queued -= waiting.count
    for item in waiting { known.remove(item.rowID) }
    wakeAll()
    return waiting
  }

  /// Containers with files still waiting, and when they expire. A container whose probe has
  /// not answered is left out: the probe itself refreshes it.
  func waiting() -> [WaitingContainer] {
    queues.compactMap { id, queue in
      guard queue.probed, !queue.gone, !queue.items.isEmpty, let deadline = queue.deadline else { return nil }
      return WaitingContainer(
        id: id, deadline: deadline, lifetime: queue.lifetime ?? ContainerLifetime.default, files: queue.items.count)
    }
  }

  private func wakeAll() {
    let woken = waiters
    waiters = []
    for waiter in woken { waiter.resume() }
  }
}

/// When containers are refreshed so their waiting files are not lost.
enum KeepAlivePolicy {
  /// Less than a third of its lifetime left: what "at risk" means in reports.
  static func isAtRisk(_ container: WaitingContainer, now: Date) -> Bool {
    container.deadline.timeIntervalSince(now) < container.lifetime / 3
  }

  /// Containers to refresh now: at risk, with at least a second of margin. All of them at
  /// once: one after another, the last could miss its deadline.
  static func due(_ waiting: [WaitingContainer], now: Date) -> [WaitingContainer] {
    waiting.filter { $0.deadline.timeIntervalSince(now) < max($0.lifetime / 3, 1) }
  }

  /// How long to wait before looking again: a twelfth of the shortest lifetime, between
  /// 0.1 s and 10 s.
  static func tick(shortestLifetime: Double?) -> Double {
    min(max((shortestLifetime ?? ContainerLifetime.default) / 12, 0.1), 10)
  }
}
