// Loads the emulator's world from a JSON manifest, so the demo and the benchmarks can describe
// containers and their files in a file next to the bytes:
//
//   {"containers": [{"id": "cntr_…", "name": "…", "expired": false,
//     "files": [{"id": "cfile_…", "path": "/mnt/data/x.csv", "source": "assistant",
//                "content_file": "files/x.csv", "created_at": 1759351655}]}]}
//
// `content_file` is relative to the manifest.
import Foundation

public struct EmulatorSeedError: Error, CustomStringConvertible {
  public var path: String
  public var detail: String
  public var description: String { "\(path): \(detail)" }
}

extension ContainersEmulator {
  /// Adds every container the manifest at `path` describes; returns how many files it added.
  @discardableResult
  public func load(seed path: String) throws -> Int {
    let url = URL(fileURLWithPath: path)
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw EmulatorSeedError(path: path, detail: "cannot read: \(error.localizedDescription)")
    }
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let containers = root["containers"] as? [[String: Any]]
    else { throw EmulatorSeedError(path: path, detail: "expected {\"containers\": [...]}") }
    let directory = url.deletingLastPathComponent()
    var count = 0
    for container in containers {
      guard let id = container["id"] as? String else {
        throw EmulatorSeedError(path: path, detail: "a container has no id")
      }
      var files: [EmulatedFile] = []
      for file in container["files"] as? [[String: Any]] ?? [] {
        guard let fileID = file["id"] as? String, let filePath = file["path"] as? String,
          let contentFile = file["content_file"] as? String
        else { throw EmulatorSeedError(path: path, detail: "a file of \(id) lacks id, path or content_file") }
        let contentURL = directory.appendingPathComponent(contentFile)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: contentURL.path))?[.size] as? Int64 else {
          throw EmulatorSeedError(path: contentURL.path, detail: "cannot read the content of \(fileID)")
        }
        // Large contents are streamed from disk as they are requested, not held in memory.
        let content: EmulatedFile.Content
        if size > 16 << 20 {
          content = .file(path: contentURL.path, size: size)
        } else {
          guard let bytes = try? Data(contentsOf: contentURL) else {
            throw EmulatorSeedError(path: contentURL.path, detail: "cannot read the content of \(fileID)")
          }
          content = .bytes(Array(bytes))
        }
        files.append(
          EmulatedFile(
            id: fileID, path: filePath, source: file["source"] as? String ?? "assistant", content: content,
            createdAt: (file["created_at"] as? NSNumber)?.int64Value))
      }
      addContainer(id: id, name: container["name"] as? String ?? "emulated", files: files)
      if container["expired"] as? Bool == true { expire(containerID: id) }
      count += files.count
    }
    return count
  }
}
