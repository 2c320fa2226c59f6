// Fuzz target for the log scanner: any bytes, as any log, must never crash it or make it loop.
//
// Built for libFuzzer by Scripts/fuzz (with -sanitize=fuzzer and -D FUZZING, so libFuzzer
// provides `main`). Built normally, it replays files given on the command line, so a crash
// found by the fuzzer can be reproduced under a debugger or added to the tests.
import ArtifactsLogScan
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogScanner(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  // Small limits so the fuzzer reaches the oversized-record paths too.
  let result = LogScanner(maximumRecordBytes: 4096, maximumDocumentBytes: 1 << 16).scan(bytes: bytes)
  precondition(result.skippedRecords <= result.records, "skipped more records than were read")
  for citation in result.findings.citations {
    if let text = citation.citedText {
      precondition(
        text.unicodeScalars.count == citation.endIndex - citation.startIndex, "cited text has the wrong length")
    }
  }
  return 0
}

#if FUZZING
  // SwiftPM links executables with `main` aliased to `<module>_main`; under the fuzzer that
  // entry point hands over to libFuzzer's own driver.
  @_silgen_name("LLVMFuzzerRunDriver")
  func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
  ) -> Int32

  @_cdecl("fuzz_log_scanner_main")
  func fuzzerEntryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzLogScanner(data, size) }
  }
#else
  @main
  struct ReplayFuzzInputs {
    static func main() {
      let paths = CommandLine.arguments.dropFirst()
      if paths.isEmpty {
        FileHandle.standardError.write(Data("usage: fuzz-log-scanner FILE…  (replays fuzzer inputs)\n".utf8))
        exit(64)
      }
      for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else {
          FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
          exit(1)
        }
        _ = data.withUnsafeBytes { buffer in
          fuzzLogScanner(buffer.bindMemory(to: UInt8.self).baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
        }
        print("ok \(path)")
      }
    }
  }
#endif
