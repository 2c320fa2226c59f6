// What goes wrong while serving, as the status a browser is shown and a sentence that names
// the file, digest or parameter involved.
import ArtifactsKit
import Hummingbird

public struct WebError: Error, Sendable, CustomStringConvertible {
  public enum Code: Sendable {
    /// No token, or a wrong one.
    case unauthorized, forbidden
    case notFound, badRequest
    /// The store could not be read.
    case unavailable
    /// The server could not start (the port is taken).
    case cannotListen
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  init(_ error: KitError) {
    self.init(
      error.code == .noMatch ? .notFound : error.code == .missingInput ? .badRequest : .unavailable, error.message)
  }

  public var description: String { message }

  var status: HTTPResponse.Status {
    switch code {
    case .unauthorized: .unauthorized
    case .forbidden: .forbidden
    case .notFound: .notFound
    case .badRequest: .badRequest
    case .unavailable, .cannotListen: .serviceUnavailable
    }
  }

  var heading: String {
    switch code {
    case .unauthorized: "A token is needed"
    case .forbidden: "Wrong token"
    case .notFound: "Not found"
    case .badRequest: "That cannot be shown"
    case .unavailable, .cannotListen: "The store cannot be read"
    }
  }
}
