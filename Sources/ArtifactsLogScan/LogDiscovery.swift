import Foundation

/// Expands the paths given to `sync` into the log files below them.
public enum LogDiscovery {
  /// Regular files named directly, and every regular file below named directories (recursively,
  /// following no symbolic links to directories, so a link loop cannot trap the walk). Hidden
  /// files and folders inside directories are skipped; a file named explicitly is always read.
  /// Returns absolute, standardised paths in a stable order, plus the paths that do not exist.
  public static func logFiles(in paths: [String]) -> (files: [String], missing: [String]) {
    var files: [String] = []
    var missing: [String] = []
    let manager = FileManager.default
    for path in paths {
      let url = URL(fileURLWithPath: path).standardizedFileURL
      var isDirectory: ObjCBool = false
      guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        missing.append(path)
        continue
      }
      guard isDirectory.boolValue else {
        files.append(url.path)
        continue
      }
      guard
        let walker = manager.enumerator(
          at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
      else { continue }
      var found: [String] = []
      for case let child as URL in walker {
        if (try? child.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
          found.append(child.standardizedFileURL.path)
        }
      }
      files.append(contentsOf: found.sorted())
    }
    var seen = Set<String>()
    return (files.filter { seen.insert($0).inserted }, missing)
  }
}
