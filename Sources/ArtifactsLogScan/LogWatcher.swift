// Tells `sync --watch` which logs may have changed, a blink after they did: inotify on every
// folder below the roots (new folders are watched as they appear), plus a rescan every few
// seconds and after the kernel's queue overflowed, since notification queues can drop events.
// Folders that cannot be watched (the watch limit is reached) are polled instead. One thread
// blocks in poll(2) on the inotify descriptor: while nothing is written it costs nothing but
// the rescan tick.
import ArtifactsCore
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What changed since the last call to `LogWatcher.next()`.
public struct WatchChanges: Sendable {
  /// Files that may have been written, created, truncated or removed (absolute paths).
  public var paths = Set<String>()
  /// Renames seen whole (both names in watched folders), in the order they happened: the
  /// file keeps its scan position under its new name.
  public var renames: [(from: String, to: String)] = []
  /// Every root should be walked again: the rescan tick, or events were dropped.
  public var rescan = false
  /// Things to say once (a queue overflow, polling instead of watching), each about a path.
  public var notices: [Diagnostic] = []
  /// `stop()` was called: nothing more will come.
  public var stopped = false

  public init() {}

  public var isEmpty: Bool { paths.isEmpty && renames.isEmpty && !rescan && notices.isEmpty && !stopped }

  public mutating func absorb(_ other: WatchChanges) {
    paths.formUnion(other.paths)
    renames += other.renames
    rescan = rescan || other.rescan
    notices += other.notices
    stopped = stopped || other.stopped
  }
}

public struct LogWatcherOptions: Sendable {
  /// Seconds between rescans of every root (a safety net under inotify).
  public var rescanInterval: Double
  /// Seconds between looks at the folders that could not be watched.
  public var pollInterval: Double
  /// At most this many folders are watched (nil: as many as the kernel allows); beyond it,
  /// folders are polled as they would be once `fs.inotify.max_user_watches` is reached.
  public var maximumWatches: Int?

  public init(rescanInterval: Double = 5, pollInterval: Double = 1, maximumWatches: Int? = nil) {
    self.rescanInterval = rescanInterval
    self.pollInterval = pollInterval
    self.maximumWatches = maximumWatches
  }
}

public struct LogWatchError: Error, CustomStringConvertible {
  public var description: String
}

/// Watches log files and the folders below directories. Changes accumulate until `next()`
/// takes them, so a burst of writes to one log costs one scan of it.
public final class LogWatcher: Sendable {
  private let options: LogWatcherOptions
  private let notify: Int32
  private let wakeRead: Int32
  private let wakeWrite: Int32
  /// Owned by the watcher thread once it runs (and by `init` before).
  private let folders: Mutex<Folders>
  private let shared = Mutex(Shared())

  private struct Shared {
    var changes = WatchChanges()
    var waiter: CheckedContinuation<WatchChanges, Never>?
    var stopped = false
  }

  /// Which folders are watched, and why.
  private struct Folders {
    /// inotify watch descriptor → folder.
    var byDescriptor: [Int32: String] = [:]
    var descriptorOf: [String: Int32] = [:]
    /// Folders named as roots, or below one: every file in them is a log, and new folders in
    /// them are watched too.
    var recursiveRoots: [String] = []
    /// Folders watched only for the files named in them (a root that is a file).
    var namedFiles: [String: Set<String>] = [:]
    /// Folders that could not be watched: looked at every `pollInterval`.
    var polled = Set<String>()
    var saidPolling = false
    var watchesAdded = 0
  }

  /// Sets up the watches for `roots` (files or folders, absolute). Nothing is reported until
  /// `start()`; events that happen meanwhile are queued by the kernel.
  public init(roots paths: [String], options: LogWatcherOptions = LogWatcherOptions()) throws(LogWatchError) {
    self.options = options
    #if os(Linux)
      notify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    #else
      notify = -1
    #endif
    var pipeEnds: [Int32] = [-1, -1]
    guard pipe(&pipeEnds) == 0 else {
      throw LogWatchError(description: "cannot create a pipe: \(String(cString: strerror(errno)))")
    }
    wakeRead = pipeEnds[0]
    wakeWrite = pipeEnds[1]
    _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
    var roots = Folders()
    for root in paths {
      var info = stat()
      if stat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
        roots.recursiveRoots.append(root)
      } else {
        let url = URL(fileURLWithPath: root)
        roots.namedFiles[url.deletingLastPathComponent().path, default: []].insert(url.lastPathComponent)
      }
    }
    folders = Mutex(roots)
    var notices: [Diagnostic] = []
    folders.withLock { folders in
      for root in folders.recursiveRoots { addTree(root, to: &folders, notices: &notices) }
      for folder in folders.namedFiles.keys.sorted() { addWatch(folder, to: &folders, notices: &notices) }
    }
    if !notices.isEmpty { shared.withLock { $0.changes.notices += notices } }
  }

  deinit {
    if notify >= 0 { close(notify) }
    close(wakeRead)
    close(wakeWrite)
  }

  /// Folders watched with inotify, and polled because they could not be.
  public var counts: (watched: Int, polled: Int) {
    folders.withLock { ($0.byDescriptor.count, $0.polled.count) }
  }

  public func start() {
    let thread = Thread { [self] in self.run() }
    thread.name = "artifacts.watch"
    thread.start()
  }

  /// Waits until something changed (or `stop()`), and takes it.
  public func next() async -> WatchChanges {
    await withCheckedContinuation { continuation in
      let ready: WatchChanges? = shared.withLock { shared in
        if !shared.changes.isEmpty || shared.stopped {
          var taken = shared.changes
          taken.stopped = shared.stopped
          shared.changes = WatchChanges()
          return taken
        }
        shared.waiter = continuation
        return nil
      }
      if let ready { continuation.resume(returning: ready) }
    }
  }

  /// Ends the watch: a waiting `next()` returns with `stopped`, and the thread exits.
  public func stop() {
    let waiter = shared.withLock { shared -> CheckedContinuation<WatchChanges, Never>? in
      shared.stopped = true
      defer { shared.waiter = nil }
      return shared.waiter
    }
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
    var stopped = WatchChanges()
    stopped.stopped = true
    waiter?.resume(returning: stopped)
  }

  private func publish(_ changes: WatchChanges) {
    guard !changes.isEmpty else { return }
    let resumed = shared.withLock { shared -> (CheckedContinuation<WatchChanges, Never>, WatchChanges)? in
      shared.changes.absorb(changes)
      guard let waiter = shared.waiter else { return nil }
      shared.waiter = nil
      let taken = shared.changes
      shared.changes = WatchChanges()
      return (waiter, taken)
    }
    if let (waiter, taken) = resumed { waiter.resume(returning: taken) }
  }

  // MARK: The watcher thread

  private func run() {
    let clock = ContinuousClock()
    var nextRescan = clock.now + .seconds(options.rescanInterval)
    var nextPoll = clock.now + .seconds(options.pollInterval)
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while !shared.withLock({ $0.stopped }) {
      let now = clock.now
      let polling = folders.withLock { !$0.polled.isEmpty }
      let wakeAt = polling ? min(nextRescan, nextPoll) : nextRescan
      let timeout = max(0, Int32(((wakeAt - now) / .milliseconds(1)).rounded(.up)))
      var descriptors = [
        pollfd(fd: notify, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
      // poll(2) failing (out of memory) must not end the watch: the rescans go on.
      if ready < 0 && errno != EINTR { usleep(100_000) }
      var changes = WatchChanges()
      if notify >= 0 && descriptors[0].revents & Int16(POLLIN) != 0 { readEvents(into: &changes, buffer: &buffer) }
      if clock.now >= nextRescan {
        changes.rescan = true
        // Folders that appeared while a watch could not see them (or whose watch was lost)
        // are watched from now on.
        folders.withLock { folders in
          for root in folders.recursiveRoots { addTree(root, to: &folders, notices: &changes.notices) }
        }
        nextRescan = clock.now + .seconds(options.rescanInterval)
      }
      if polling && clock.now >= nextPoll {
        changes.paths.formUnion(pollFolders())
        nextPoll = clock.now + .seconds(options.pollInterval)
      }
      publish(changes)
    }
  }

  private func readEvents(into changes: inout WatchChanges, buffer: inout [UInt8]) {
    #if os(Linux)
      // A rename is two events with one cookie; both usually come in one read.
      var movedFrom: [UInt32: String] = [:]
      while true {
        let count = buffer.withUnsafeMutableBytes { read(notify, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        var offset = 0
        folders.withLock { folders in
          while offset + 16 <= count {
            let descriptor = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
            let mask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
            let cookie = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self) }
            let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
            let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, count)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            offset += 16 + length
            handle(
              descriptor: descriptor, mask: mask, cookie: cookie, name: name, folders: &folders, changes: &changes,
              movedFrom: &movedFrom)
          }
        }
      }
      // Renames whose other half is outside the watched folders: the old name is gone.
      changes.paths.formUnion(movedFrom.values)
    #endif
  }

  #if os(Linux)
    private func handle(
      descriptor: Int32, mask: UInt32, cookie: UInt32, name: String, folders: inout Folders,
      changes: inout WatchChanges, movedFrom: inout [UInt32: String]
    ) {
      if mask & UInt32(IN_Q_OVERFLOW) != 0 {
        changes.rescan = true
        changes.notices.append(
          Diagnostic(
            .warning, "the kernel's inotify queue overflowed (fs.inotify.max_queued_events); every log is read again",
            file: folders.recursiveRoots.first ?? folders.namedFiles.keys.sorted().first ?? "/"))
        return
      }
      guard let folder = folders.byDescriptor[descriptor] else { return }
      if mask & UInt32(IN_IGNORED) != 0 {
        // The folder is gone (or unmounted): its watch is too.
        folders.byDescriptor[descriptor] = nil
        if folders.descriptorOf[folder] == descriptor { folders.descriptorOf[folder] = nil }
        return
      }
      guard !name.isEmpty else { return }
      let path = folder == "/" ? "/" + name : folder + "/" + name
      let recursive = isRecursive(folder, folders)
      // A log followed by name that is renamed (rotated) is followed to its new name once,
      // so what was written just before the rename is still read.
      let renamedFollowedLog = mask & UInt32(IN_MOVED_TO) != 0 && movedFrom[cookie] != nil
      if !recursive {
        guard folders.namedFiles[folder]?.contains(name) == true || renamedFollowedLog else { return }
      } else if name.hasPrefix(".") && !renamedFollowedLog {
        return  // hidden, as discovery skips them
      }
      if mask & UInt32(IN_ISDIR) != 0 {
        guard recursive else { return }
        if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
          // Files may have been written in it before its watch was added: report them all.
          addTree(path, to: &folders, notices: &changes.notices)
          changes.paths.formUnion(LogDiscovery.logFiles(in: [path]).files)
        } else if mask & UInt32(IN_MOVED_FROM | IN_DELETE) != 0 {
          forgetTree(path, in: &folders)
        }
        return
      }
      if mask & UInt32(IN_MOVED_FROM) != 0 {
        movedFrom[cookie] = path
      } else if mask & UInt32(IN_MOVED_TO) != 0, let from = movedFrom.removeValue(forKey: cookie) {
        changes.renames.append((from, path))
        changes.paths.insert(from)
        changes.paths.insert(path)
      } else {
        changes.paths.insert(path)
      }
    }
  #endif

  private func isRecursive(_ folder: String, _ folders: Folders) -> Bool {
    folders.recursiveRoots.contains { folder == $0 || folder.hasPrefix($0 == "/" ? "/" : $0 + "/") }
  }

  /// Watches `folder` and every folder below it (links to folders are not followed).
  private func addTree(_ folder: String, to folders: inout Folders, notices: inout [Diagnostic]) {
    addWatch(folder, to: &folders, notices: &notices)
    guard let handle = opendir(folder) else { return }
    var subfolders: [String] = []
    while let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
      }
      guard !name.hasPrefix(".") else { continue }
      let full = folder == "/" ? "/" + name : folder + "/" + name
      var isFolder = Int32(entry.pointee.d_type) == Int32(DT_DIR)
      if Int32(entry.pointee.d_type) == Int32(DT_UNKNOWN) {
        var info = stat()
        isFolder = lstat(full, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
      }
      if isFolder { subfolders.append(full) }
    }
    closedir(handle)
    for subfolder in subfolders.sorted() { addTree(subfolder, to: &folders, notices: &notices) }
  }

  private func addWatch(_ folder: String, to folders: inout Folders, notices: inout [Diagnostic]) {
    guard !folders.polled.contains(folder) else { return }
    var failure: Int32 = ENOSPC
    #if os(Linux)
      if folders.descriptorOf[folder] == nil, let limit = options.maximumWatches, folders.watchesAdded >= limit {
        failure = ENOSPC
      } else {
        let mask = UInt32(
          IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR)
        let descriptor = inotify_add_watch(notify, folder, mask)
        if descriptor >= 0 {
          if folders.byDescriptor[descriptor] == nil { folders.watchesAdded += 1 }
          // The same folder (inode) under a new name, after a rename, keeps its descriptor.
          if let old = folders.byDescriptor[descriptor], old != folder, folders.descriptorOf[old] == descriptor {
            folders.descriptorOf[old] = nil
          }
          folders.byDescriptor[descriptor] = folder
          folders.descriptorOf[folder] = descriptor
          return
        }
        failure = errno
      }
    #endif
    // A folder that is not there (yet), or cannot be read, is left to the rescans.
    guard failure == ENOSPC || failure == ENOMEM else { return }
    folders.polled.insert(folder)
    if !folders.saidPolling {
      folders.saidPolling = true
      let interval = options.pollInterval == 1 ? "every second" : "every \(options.pollInterval) s"
      notices.append(
        Diagnostic(
          .warning,
          "the inotify watch limit is reached (fs.inotify.max_user_watches); folders from here on are polled \(interval) instead",
          file: folder))
    }
  }

  private func forgetTree(_ folder: String, in folders: inout Folders) {
    let prefix = folder + "/"
    for (path, descriptor) in folders.descriptorOf where path == folder || path.hasPrefix(prefix) {
      #if os(Linux)
        _ = inotify_rm_watch(notify, descriptor)
      #endif
      folders.descriptorOf[path] = nil
      folders.byDescriptor[descriptor] = nil
    }
    folders.polled = folders.polled.filter { $0 != folder && !$0.hasPrefix(prefix) }
  }

  /// The files in the polled folders: each is stat'ed by the scan, which reads what changed.
  private func pollFolders() -> Set<String> {
    let (polled, named, recursive) = folders.withLock { ($0.polled, $0.namedFiles, $0.recursiveRoots) }
    var paths = Set<String>()
    for folder in polled {
      guard let handle = opendir(folder) else { continue }
      let isRecursive = recursive.contains { folder == $0 || folder.hasPrefix($0 == "/" ? "/" : $0 + "/") }
      while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        guard isRecursive ? !name.hasPrefix(".") : named[folder]?.contains(name) == true else { continue }
        let full = folder == "/" ? "/" + name : folder + "/" + name
        var info = stat()
        guard stat(full, &info) == 0 else { continue }
        if (info.st_mode & S_IFMT) == S_IFREG {
          paths.insert(full)
        } else if isRecursive, (info.st_mode & S_IFMT) == S_IFDIR {
          // A new folder below a polled one: watch it if a watch is free, else poll it too.
          var notices: [Diagnostic] = []
          folders.withLock { folders in
            if folders.descriptorOf[full] == nil && !folders.polled.contains(full) {
              addTree(full, to: &folders, notices: &notices)
              paths.formUnion(LogDiscovery.logFiles(in: [full]).files)
            }
          }
        }
      }
      closedir(handle)
    }
    return paths
  }
}
