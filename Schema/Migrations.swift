// The catalog's migrations, compiled into the binary so an installed `artifacts` needs no
// resource folder. Order matters; identifiers are the file names and never change.

public enum CatalogMigrations {
  public static let all: [(identifier: String, sql: String)] = [
    ("v001_initial", String(decoding: PackageResources.v001_initial_sql, as: UTF8.self)),
    ("v002_incremental_scan", String(decoding: PackageResources.v002_incremental_scan_sql, as: UTF8.self)),
    ("v003_verification", String(decoding: PackageResources.v003_verification_sql, as: UTF8.self)),
    ("v004_name_trigrams", String(decoding: PackageResources.v004_name_trigrams_sql, as: UTF8.self)),
    ("v005_leases", String(decoding: PackageResources.v005_leases_sql, as: UTF8.self)),
    ("v006_produced_at", String(decoding: PackageResources.v006_produced_at_sql, as: UTF8.self)),
    (
      "v007_fewer_writes_per_file",
      String(decoding: PackageResources.v007_fewer_writes_per_file_sql, as: UTF8.self)
    ),
    (
      "v008_produced_at_as_recorded",
      String(decoding: PackageResources.v008_produced_at_as_recorded_sql, as: UTF8.self)
    ),
    ("v009_blobs_by_size", String(decoding: PackageResources.v009_blobs_by_size_sql, as: UTF8.self)),
  ]

  /// The PostgreSQL catalog's own migrations (`postgres/`), applied in the same way: by
  /// identifier, in order, never edited once released.
  public static let postgres: [(identifier: String, sql: String)] = [
    ("pg001_initial", String(decoding: PackageResources.pg001_initial_sql, as: UTF8.self))
  ]
}
