// A local Containers API for the offline demo and the benchmarks. Listens on loopback only.
import ArtifactsEmulator
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

let usage = """
  usage: artifacts-emulator [--seed MANIFEST.json]... [--port N] [--ttl SECONDS] [--latency-ms N]
                            [--key KEY] [--port-file FILE] [--log-requests]
                            [--fault-rate 0..1] [--fault-seed N] [--azure] [--responses DIR]

  Serves GET /v1/containers, /containers/{cid}, /files, /files/{fid} and /files/{fid}/content on
  127.0.0.1, and GET /v1/responses/{id} for each resp_*.json in --responses DIR. --azure plays
  Azure OpenAI: the same paths below /openai, the key in an api-key header (point
  AZURE_OPENAI_ENDPOINT at http://127.0.0.1:PORT). The key defaults to $OPENAI_API_KEY, else
  "sk-emulator". Stops on SIGINT or SIGTERM.
  """

var seeds: [String] = []
var port = 0
var ttl: Double = 20 * 60
var latency: Double = 0
var key = ProcessInfo.processInfo.environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? "sk-emulator"
var portFile: String?
var logRequests = false
var faultRate: Double = 0
var faultSeed: UInt64 = 1
var azure = false
var responses: String?

var arguments = CommandLine.arguments.dropFirst().makeIterator()
@MainActor func value(for option: String) -> String {
  guard let value = arguments.next() else {
    FileHandle.standardError.write(Data("artifacts-emulator: \(option) needs a value\n\(usage)\n".utf8))
    exit(64)
  }
  return value
}
while let argument = arguments.next() {
  switch argument {
  case "--seed": seeds.append(value(for: argument))
  case "--port": port = Int(value(for: argument)) ?? 0
  case "--ttl": ttl = Double(value(for: argument)) ?? ttl
  case "--latency-ms": latency = (Double(value(for: argument)) ?? 0) / 1000
  case "--key": key = value(for: argument)
  case "--port-file": portFile = value(for: argument)
  case "--log-requests": logRequests = true
  case "--fault-rate": faultRate = Double(value(for: argument)) ?? 0
  case "--fault-seed": faultSeed = UInt64(value(for: argument)) ?? 1
  case "--azure": azure = true
  case "--responses": responses = value(for: argument)
  case "-h", "--help":
    print(usage)
    exit(0)
  default:
    FileHandle.standardError.write(Data("artifacts-emulator: unknown argument \(argument)\n\(usage)\n".utf8))
    exit(64)
  }
}

let emulator = ContainersEmulator(apiKey: key, ttl: ttl)
do {
  var files = 0
  for seed in seeds { files += try emulator.load(seed: seed) }
  emulator.setLatency(latency)
  if azure { emulator.setFlavor(.azure) }
  if let responses {
    for name in try FileManager.default.contentsOfDirectory(atPath: responses).sorted()
    where name.hasPrefix("resp_") && name.hasSuffix(".json") {
      let json = try String(contentsOfFile: responses + "/" + name, encoding: .utf8)
      emulator.storeResponse(id: String(name.dropLast(".json".count)), json: json)
    }
  }
  if faultRate > 0 { emulator.setFaultPlan(FaultPlan(rate: faultRate, seed: faultSeed)) }
  if logRequests {
    let started = Date()
    emulator.onRequest { request in
      let line = String(
        format: "%8.3f %@ %@ %d\n", Date().timeIntervalSince(started), request.method, request.path, request.status)
      FileHandle.standardError.write(Data(line.utf8))
    }
  }
  try emulator.start(port: port)
  if let portFile { try String(emulator.port).write(toFile: portFile, atomically: true, encoding: .utf8) }
  FileHandle.standardOutput.write(Data("artifacts-emulator: \(files) files, listening on \(emulator.baseURL)\n".utf8))
} catch {
  FileHandle.standardError.write(Data("artifacts-emulator: \(error)\n".utf8))
  exit(1)
}

signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let signals = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signals {
  source.setEventHandler {
    emulator.stop()
    exit(0)
  }
  source.resume()
}
dispatchMain()
