// Fuzz target for `import`: any bytes, handed over as an archive, must get a summary or a
// message — never a crash, a hang or a damaged store. An import is a trust boundary: the
// archive may be a colleague's export, a broken download or an attacker's file.
//
// Built for libFuzzer by `Scripts/fuzz import` (with -sanitize=fuzzer and -D FUZZING). Built
// normally, it replays files given on the command line.
import ArtifactsKit
import Foundation

/// One store for the whole fuzzing run, in a temporary directory.
let fuzzStore: ArtifactStore = {
  let root = NSTemporaryDirectory() + "artifacts-fuzz-import-\(getpid())"
  do { return try ArtifactStore(root: root, access: .create) } catch {
    fatalError("cannot make the fuzz store: \(error)")
  }
}()
let fuzzInput = NSTemporaryDirectory() + "artifacts-fuzz-import-\(getpid()).tar"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = FileManager.default.createFile(atPath: fuzzInput, contents: Data(bytes: data, count: size))
  let done = DispatchSemaphore(value: 0)
  Task.detached {
    do throws(KitError) {
      _ = try await Import(store: fuzzStore).run(archive: .file(fuzzInput))
    } catch {
      // A refusal must say what is wrong in the archive's terms.
      precondition(!error.message.isEmpty && !error.message.contains("DecodingError"), "unclear refusal: \(error)")
    }
    done.signal()
  }
  done.wait()
  return 0
}

#if FUZZING
  @_silgen_name("LLVMFuzzerRunDriver")
  func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
  ) -> Int32

  @_cdecl("fuzz_import_main")
  func fuzzerEntryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzImport(data, size) }
  }
#else
  @main
  struct ReplayFuzzInputs {
    static func main() {
      let paths = CommandLine.arguments.dropFirst()
      if paths.isEmpty {
        FileHandle.standardError.write(Data("usage: fuzz-import FILE…  (replays fuzzer inputs)\n".utf8))
        exit(64)
      }
      for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else {
          FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
          exit(1)
        }
        _ = data.withUnsafeBytes { buffer in
          fuzzImport(buffer.bindMemory(to: UInt8.self).baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
        }
        print("ok \(path)")
      }
    }
  }
#endif
