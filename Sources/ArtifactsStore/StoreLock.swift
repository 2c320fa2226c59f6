// The store-wide lock (`flock` on `lock`): many runs may add at once, but gc removes alone.
// Held only around the work that needs it (an ingest and its commit, an export, a gc), so a
// long-lived watcher never keeps gc out.
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public final class StoreLock: Sendable {
  private let descriptor: Mutex<Int32>

  /// Takes the lock at `path`: shared for work that adds or reads, exclusive for work that
  /// removes. Without `wait`, a lock held the other way is an error that says who holds it.
  public init(path: String, exclusive: Bool, wait: Bool) throws(StoreError) {
    let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard opened >= 0 else { throw StoreError.system(.ioFailure, "open", path: path) }
    let operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
    var result: Int32
    repeat { result = flock(opened, operation) } while result != 0 && errno == EINTR
    guard result == 0 else {
      let code = errno
      close(opened)
      if code == EWOULDBLOCK {
        throw StoreError(
          .busy, path: path,
          detail: exclusive ? "another artifacts command is using the store" : "artifacts gc is cleaning the store")
      }
      throw StoreError.system(.ioFailure, "flock", path: path, errno: code)
    }
    descriptor = Mutex(opened)
  }

  public func release() {
    descriptor.withLock { descriptor in
      guard descriptor >= 0 else { return }
      close(descriptor)
      descriptor = -1
    }
  }

  deinit { release() }
}
