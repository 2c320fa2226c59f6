// Expands the paths given to `sync` into the log files below them. Uses readdir(3) directly:
// a sync over thousands of unchanged logs should cost little more than `find`.
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
    var files: [String] = []
    var missing: [String] = []
    for path in paths {
      let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
      var info = stat()
      guard stat(absolute, &info) == 0 else {
        missing.append(path)
        continue
      }
      if (info.st_mode & S_IFMT) == S_IFDIR {
        walk(absolute, into: &files)
      } else {
        files.append(absolute)
      }
    }
    // One directory's walk never yields a path twice; only several inputs can overlap (and
    // hashing 100,000 paths was an eighth of a resync).
    guard paths.count > 1 else { return (files, missing) }
    var seen = Set<String>()
    return (files.filter { seen.insert($0).inserted }, missing)
  }

  /// Appends the regular files below `directory`, sorted by name at each level.
  private static func walk(_ directory: String, into files: inout [String]) {
    guard let handle = opendir(directory) else { return }
    var entries: [(name: String, isDirectory: Bool)] = []
    while let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
      }
      guard !name.hasPrefix(".") else { continue }
      switch Int32(entry.pointee.d_type) {
      case Int32(DT_REG): entries.append((name, false))
      case Int32(DT_DIR): entries.append((name, true))
      case Int32(DT_UNKNOWN), Int32(DT_LNK):
        // File systems that do not report types, and links: ask stat (links to files count,
        // links to directories are not followed).
        var info = stat()
        let full = directory + "/" + name
        if lstat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
          entries.append((name, true))
        } else if stat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
          entries.append((name, false))
        }
      default:
        continue
      }
    }
    closedir(handle)
    entries.sort { $0.name < $1.name }
    for entry in entries {
      let full = directory == "/" ? "/" + entry.name : directory + "/" + entry.name
      if entry.isDirectory { walk(full, into: &files) } else { files.append(full) }
    }
  }
}
