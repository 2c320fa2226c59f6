import GRDB

public struct CatalogError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable { case cannotOpen, newerSchema, queryFailed }

  public var code: Code
  public var path: String
  public var detail: String

  public init(_ code: Code, path: String, detail: String) {
    self.code = code
    self.path = path
    self.detail = detail
  }

  /// The one place SQLite/GRDB errors become catalog errors.
  static func wrap(_ error: any Error, _ code: Code = .queryFailed, path: String) -> CatalogError {
    if let error = error as? CatalogError { return error }
    if let database = error as? DatabaseError {
      return CatalogError(
        code, path: path, detail: "\(database.message ?? "SQLite error") (SQLite code \(database.resultCode.rawValue))")
    }
    return CatalogError(code, path: path, detail: "\(error)")
  }

  public var description: String { "catalog \(path): \(detail)" }
}
