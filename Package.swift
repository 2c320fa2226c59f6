// swift-tools-version:6.0
// The map of the code: each target says in one line what belongs in it.
// Layering (top imports bottom, siblings never import each other):
//   artifacts → ArtifactsCLI → {ArtifactsWeb →} ArtifactsKit → {LogScan, ObjectStore → Fetch, Store, Catalog, Images} → ArtifactsCore
import PackageDescription

let package = Package(
  name: "artifacts",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "artifacts", targets: ["artifacts"]),
    .executable(name: "artifacts-emulator", targets: ["artifacts-emulator"]),
    .library(name: "ArtifactsKit", targets: ["ArtifactsKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
  ],
  targets: [
    // MARK: C libraries, each wrapped once

    /** libcurl, opened with dlopen on first download (its ~30 dependencies cost every command 6 ms at start-up), behind typed functions for the variadic `curl_easy_setopt`/`getinfo`. Headers: libcurl4-openssl-dev. */
    .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
    /** zlib: module map plus shims for the `inflateInit2`/`deflateInit2` macros. */
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),

    /** libvips, opened with dlopen when the first thumbnail is made; only its PNG, JPEG, GIF and WebP loaders enabled. Runtime: libvips42. */
    .target(name: "CVips", linkerSettings: [.linkedLibrary("dl")]),

    /** libpq, opened with dlopen when a PostgreSQL catalog is first opened, behind `cpq_` functions. Headers: libpq-dev; runtime: libpq5. */
    .target(name: "CPostgres", linkerSettings: [.linkedLibrary("dl")]),

    /** glibc's GNU extension Swift's Glibc module hides: syncfs (the blob store's batch flush). */
    .systemLibrary(name: "CGNUExtensions"),
    /** The scanner's prefilter: a vectorised substring search (AVX2 or SSE2; glibc's memmem is not vectorised). Our own C, no library. */
    .target(name: "CByteSearch"),

    // MARK: Library layers

    /** Vocabulary shared by every layer: ids, digests, citations, provenance, the event sink. No I/O. */
    .target(name: "ArtifactsCore"),
    /** Streaming gzip (inflate and deflate) over zlib: read `.gz` logs, write `.tar.gz` exports. */
    .target(name: "ArtifactsGzip", dependencies: ["CZlib"]),
    /** Finds and watches (inotify) log files, detects their format, streams records and extracts citations with provenance. */
    .target(name: "ArtifactsLogScan", dependencies: ["ArtifactsCore", "ArtifactsGzip", "CByteSearch"]),
    /** Containers API and S3 clients over libcurl's multi interface: auth (SigV4 by libcurl), retries, streaming both ways while hashing. */
    .target(
      name: "ArtifactsFetch",
      dependencies: ["ArtifactsCore", "CCurl", .product(name: "Crypto", package: "swift-crypto")]),
    /** The blob backend in S3-compatible object storage: conditional writes, multipart, listing, quarantine. */
    .target(name: "ArtifactsObjectStore", dependencies: ["ArtifactsCore", "ArtifactsFetch"]),
    /** Content-addressed blob store: atomic ingest, lookup, verification. */
    .target(
      name: "ArtifactsStore",
      dependencies: ["ArtifactsCore", "CGNUExtensions", .product(name: "Crypto", package: "swift-crypto")]),
    /** The catalog's SQL migrations, compiled into the binary; never edited once released. */
    .target(
      name: "ArtifactsSchema", path: "Schema", exclude: ["README.md"],
      resources: [
        .embedInCode("v001_initial.sql"), .embedInCode("v002_incremental_scan.sql"),
        .embedInCode("v003_verification.sql"),
        .embedInCode("v004_name_trigrams.sql"), .embedInCode("v005_leases.sql"),
        .embedInCode("v006_produced_at.sql"), .embedInCode("v007_fewer_writes_per_file.sql"),
        .embedInCode("v008_produced_at_as_recorded.sql"), .embedInCode("v009_blobs_by_size.sql"),
        .embedInCode("postgres/pg001_initial.sql"),
      ]),
    /** Thumbnails of untrusted raster images (libvips): limits on size checked before decoding, WebP out. */
    .target(name: "ArtifactsImages", dependencies: ["CVips"]),
    /** The catalog: SQLite via GRDB (one machine) or PostgreSQL via libpq (shared by many hosts): migrations, records, work state and queries. */
    .target(
      name: "ArtifactsCatalog",
      dependencies: ["ArtifactsCore", "ArtifactsSchema", "CPostgres", .product(name: "GRDB", package: "GRDB.swift")]),
    /** pax tar writer and reader, safe archive names, MANIFEST.json: what export and import speak. */
    .target(name: "ArtifactsExport", dependencies: ["ArtifactsCore", "ArtifactsGzip"]),
    /** Use cases composed from the layers below: sync (and its watch), find, export, import, check, gc, doctor, push, migrate-catalog, the gallery. */
    .target(
      name: "ArtifactsKit",
      dependencies: [
        "ArtifactsCore", "ArtifactsLogScan", "ArtifactsFetch", "ArtifactsStore", "ArtifactsObjectStore",
        "ArtifactsCatalog", "ArtifactsExport", "ArtifactsImages",
      ]),

    // MARK: Front ends

    /** `serve`: the web gallery on Hummingbird, its Mustache templates, token auth and the headers that keep archived files inert. */
    .target(
      name: "ArtifactsWeb",
      dependencies: [
        "ArtifactsKit", "ArtifactsCore",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Mustache", package: "swift-mustache"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      resources: [
        .embedInCode("Templates/layout.mustache"), .embedInCode("Templates/gallery.mustache"),
        .embedInCode("Templates/file.mustache"), .embedInCode("Templates/problems.mustache"),
        .embedInCode("Templates/message.mustache"), .embedInCode("Templates/style.css"),
      ]),

    /** The subcommands, one file each: flag parsing, terminal output, exit codes. */
    .target(
      name: "ArtifactsCLI",
      dependencies: [
        "ArtifactsKit", "ArtifactsCore", "ArtifactsWeb",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    /** The `artifacts` binary: a few lines that hand over to ArtifactsCLI. Linked without exporting its 34,000 symbols (the static Swift runtime asks for -export-dynamic): at start-up the runtime's dladdr walked them all, 0.8–1.5 ms of every command. */
    .executableTarget(
      name: "artifacts", dependencies: ["ArtifactsCLI"],
      linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))]),

    // MARK: Containers API emulator (tests, benchmarks, offline demo)

    /** A local Containers API on SwiftNIO with idle expiry; started in-process by tests. */
    .target(
      name: "ArtifactsEmulator",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    /** The emulator as a program, seeded from a directory of container files. */
    .executableTarget(name: "artifacts-emulator", dependencies: ["ArtifactsEmulator"]),

    // MARK: Fuzzing

    /** libFuzzer target for the log scanner (Scripts/fuzz); built normally it replays inputs. */
    .executableTarget(name: "fuzz-log-scanner", dependencies: ["ArtifactsLogScan"]),
    /** libFuzzer target for `import` (tar reader, manifest, the checks on both); built normally it replays inputs. */
    .executableTarget(name: "fuzz-import", dependencies: ["ArtifactsKit"]),

    // MARK: Tests (mirror Sources/)

    /** Helpers every test target shares: fixtures, temporary stores, running the built binary. */
    .target(
      name: "ArtifactsTestSupport",
      dependencies: ["ArtifactsEmulator", "ArtifactsCore"],
      path: "Tests/ArtifactsTestSupport"),
    .testTarget(
      name: "ArtifactsLogScanTests",
      dependencies: ["ArtifactsLogScan", "ArtifactsGzip", "CByteSearch", "ArtifactsTestSupport"],
      exclude: []),
    .testTarget(name: "ArtifactsExportTests", dependencies: ["ArtifactsExport", "ArtifactsTestSupport"]),
    .testTarget(name: "ArtifactsGzipTests", dependencies: ["ArtifactsGzip", "ArtifactsTestSupport"]),
    .testTarget(
      name: "ArtifactsStoreTests",
      dependencies: ["ArtifactsStore", "ArtifactsTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "ArtifactsCatalogTests", dependencies: ["ArtifactsCatalog", "ArtifactsTestSupport"]),
    .testTarget(
      name: "ArtifactsFetchTests",
      dependencies: [
        "ArtifactsFetch", "ArtifactsEmulator", "ArtifactsTestSupport",
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .testTarget(
      name: "ArtifactsObjectStoreTests",
      dependencies: [
        "ArtifactsObjectStore", "ArtifactsFetch", "ArtifactsTestSupport",
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .testTarget(
      name: "ArtifactsEmulatorTests", dependencies: ["ArtifactsEmulator", "ArtifactsFetch", "ArtifactsTestSupport"]),
    .testTarget(
      name: "ArtifactsKitTests",
      dependencies: [
        "ArtifactsKit", "ArtifactsCore", "ArtifactsExport", "ArtifactsEmulator", "ArtifactsTestSupport",
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .testTarget(name: "ArtifactsImagesTests", dependencies: ["ArtifactsImages", "ArtifactsTestSupport"]),
    .testTarget(
      name: "ArtifactsWebTests",
      dependencies: [
        "artifacts", "ArtifactsWeb", "ArtifactsKit", "ArtifactsCore", "ArtifactsEmulator", "ArtifactsTestSupport",
      ]),
    .testTarget(
      name: "ArtifactsCLITests",
      dependencies: [
        "artifacts", "ArtifactsCLI", "ArtifactsEmulator", "ArtifactsTestSupport",
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
