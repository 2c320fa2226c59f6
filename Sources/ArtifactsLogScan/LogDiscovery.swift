// Expands the paths given to `sync` into the log files below them. Uses readdir(3) directly:
// a sync over thousands of unchanged logs should cost little more than `find`.
import ArtifactsCore
import Foundation

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
        walk.directory(absolute)
      } else {
        walk.add(absolute, info)
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

  private struct Walk {
    let statting: Bool
    var files: [String] = []
    /// Parallel to `files` when statting, else empty.
    var identities: [LogFileIdentity?] = []

    init(statting: Bool) { self.statting = statting }

    mutating func add(_ path: String, _ info: stat?) {
      files.append(path)
      if statting { identities.append(info.map(LogFileIdentity.init(status:))) }
    }

    /// Adds the regular files below `directory`, sorted by name at each level.
    mutating func directory(_ directory: String) {
      guard let handle = opendir(directory) else { return }
      let descriptor = dirfd(handle)
      var entries: [(name: String, isDirectory: Bool, info: stat?)] = []
      while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        guard !name.hasPrefix(".") else { continue }
        var info = stat()
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_REG):
          entries.append((name, false, statting && fstatat(descriptor, name, &info, 0) == 0 ? info : nil))
        case Int32(DT_DIR):
          entries.append((name, true, nil))
        case Int32(DT_UNKNOWN), Int32(DT_LNK):
          // File systems that do not report types, and links: ask stat (links to files count,
          // links to directories are not followed).
          if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            entries.append((name, true, nil))
          } else if fstatat(descriptor, name, &info, 0) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            entries.append((name, false, info))
          }
        default:
          continue
        }
      }
      closedir(handle)
      entries.sort { $0.name < $1.name }
      for entry in entries {
        let full = directory == "/" ? "/" + entry.name : directory + "/" + entry.name
        if entry.isDirectory { self.directory(full) } else { add(full, entry.info) }
      }
    }
  }
}
