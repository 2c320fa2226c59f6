// Group commit: what many workers ask for one at a time is done for all of them at once.
// Requests that arrive while a batch is being done wait for it to end and then go together, so
// an idle run pays no added latency (a lone request goes at once) and a busy one pays one
// transaction, and one flush, per batch instead of per file. No timer to tune: the batch size
// follows the load.
actor GroupCommit<Request: Sendable, Answer: Sendable> {
  private var waiting: [(request: Request, answer: CheckedContinuation<Answer, Never>)] = []
  private var running = false
  private let maximumBatch: Int
  /// Answers each request of a batch, in order.
  private let perform: @Sendable ([Request]) async -> [Answer]

  init(maximumBatch: Int, perform: @escaping @Sendable ([Request]) async -> [Answer]) {
    self.maximumBatch = max(1, maximumBatch)
    self.perform = perform
  }

  func submit(_ request: Request) async -> Answer {
    await withCheckedContinuation { answer in
      waiting.append((request, answer))
      if !running {
        running = true
        Task { await drain() }
      }
    }
  }

  private func drain() async {
    while !waiting.isEmpty {
      let batch = Array(waiting.prefix(maximumBatch))
      waiting.removeFirst(batch.count)
      let answers = await perform(batch.map(\.request))
      precondition(answers.count == batch.count, "a group commit answers every request of its batch")
      for (entry, answer) in zip(batch, answers) { entry.answer.resume(returning: answer) }
    }
    running = false
  }
}

/// A counting semaphore for tasks: `acquire` waits (without blocking a thread) while all
/// `count` are taken.
actor Slots {
  private var free: Int
  private var waiting: [CheckedContinuation<Void, Never>] = []

  init(_ count: Int) { free = count }

  func acquire() async {
    if free > 0 {
      free -= 1
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }

  func release() {
    if waiting.isEmpty {
      free += 1
    } else {
      waiting.removeFirst().resume()
    }
  }
}
