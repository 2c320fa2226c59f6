// Expands the paths given to `sync` into the log files below them. Uses readdir(3) directly:
// a sync over thousands of unchanged logs should cost little more than `find`.
import ArtifactsCore
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public enum LogDiscovery {
  /// Regular files named directly, and every regular file below named directories (recursively,
  /// following no symbolic links to directories, so a link loop cannot trap the walk). Hidden
  /// files and folders inside directories are skipped; a file named explicitly is always read.
  /// Returns absolute, standardised paths in a stable order, plus the paths that do not exist.
  public static func logFiles(in paths: [String]) -> (files: [String], missing: [String]) {
    let found = discover(paths, statting: false)
    return (found.files, found.missing)
  }

  /// The same, with each file's identity as the walk saw it (nil when it could not be read):
  /// taken relative to its directory while the walk is there, it costs a lookup of one name
  /// instead of the whole path. A stat by full path was two fifths of a sync of 100,000
  /// unchanged logs.
  public static func logFilesWithIdentities(in paths: [String]) -> (
    files: [String], identities: [LogFileIdentity?], missing: [String]
  ) {
    discover(paths, statting: true)
  }

  private static func discover(_ paths: [String], statting: Bool) -> (
    files: [String], identities: [LogFileIdentity?], missing: [String]
  ) {
    var walk = Walk(statting: statting)
    var missing: [String] = []
    for path in paths {
      let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
      var info = stat()
      guard stat(absolute, &info) == 0 else {
        missing.append(path)
        continue
      }
      if (info.st_mode & S_IFMT) == S_IFDIR {
        walk.directory(absolute, spreading: statting)
      } else {
        walk.add(absolute, LogFileIdentity(status: info))
      }
    }
    // One directory's walk never yields a path twice; only several inputs can overlap (and
    // hashing 100,000 paths was an eighth of a resync).
    guard paths.count > 1 else { return (walk.files, walk.identities, missing) }
    var seen = Set<String>()
    var files: [String] = []
    var identities: [LogFileIdentity?] = []
    for (index, file) in walk.files.enumerated() where seen.insert(file).inserted {
      files.append(file)
      if statting { identities.append(walk.identities[index]) }
    }
    return (files, identities, missing)
  }

  private struct Walk: Sendable {
    let statting: Bool
    var files: [String] = []
    /// Parallel to `files` when statting, else empty.
    var identities: [LogFileIdentity?] = []

    init(statting: Bool) { self.statting = statting }

    mutating func add(_ path: String, _ identity: LogFileIdentity?) {
      files.append(path)
      if statting { identities.append(identity) }
    }

    mutating func append(_ other: Walk) {
      files.append(contentsOf: other.files)
      identities.append(contentsOf: other.identities)
    }

    typealias Entry = (name: String, isDirectory: Bool, identity: LogFileIdentity?)

    /// Adds the regular files below `directory`, sorted by name at each level. With
    /// `spreading`, the directories right below it are walked on several threads at once (a
    /// stat is mostly the kernel's lookup of the name, which runs in parallel), and their
    /// files added in the same order as one thread would.
    mutating func directory(_ directory: String, spreading: Bool = false) {
      guard let entries = Self.entries(of: directory, statting: statting) else { return }
      let folders = entries.indices.filter { entries[$0].isDirectory }
      var walked: [Int: Walk] = [:]
      if spreading && folders.count > 1 {
        let statting = self.statting
        let results = Mutex<[Int: Walk]>([:])
        DispatchQueue.concurrentPerform(iterations: folders.count) { index in
          var walk = Walk(statting: statting)
          walk.directory(Self.path(directory, entries[folders[index]].name))
          results.withLock { $0[folders[index]] = walk }
        }
        walked = results.withLock { $0 }
      }
      for (index, entry) in entries.enumerated() {
        let full = Self.path(directory, entry.name)
        if let walk = walked[index] {
          append(walk)
        } else if entry.isDirectory {
          self.directory(full)
        } else {
          add(full, entry.identity)
        }
      }
    }

    static func path(_ directory: String, _ name: String) -> String {
      directory == "/" ? "/" + name : directory + "/" + name
    }

    /// The entries of `directory` worth walking, sorted by name; nil when it cannot be read.
    static func entries(of directory: String, statting: Bool) -> [Entry]? {
      guard let handle = opendir(directory) else { return nil }
      defer { closedir(handle) }
      let descriptor = dirfd(handle)
      var entries: [Entry] = []
      while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        guard !name.hasPrefix(".") else { continue }
        var info = stat()
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_REG):
          let identity = statting && fstatat(descriptor, name, &info, 0) == 0 ? LogFileIdentity(status: info) : nil
          entries.append((name, false, identity))
        case Int32(DT_DIR):
          entries.append((name, true, nil))
        case Int32(DT_UNKNOWN), Int32(DT_LNK):
          // File systems that do not report types, and links: ask stat (links to files count,
          // links to directories are not followed).
          if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            entries.append((name, true, nil))
          } else if fstatat(descriptor, name, &info, 0) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            entries.append((name, false, LogFileIdentity(status: info)))
          }
        default:
          continue
        }
      }
      entries.sort { $0.name < $1.name }
      return entries
    }
  }
}
