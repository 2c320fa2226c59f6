// Identifiers that arrive from logs are untrusted text. They are kept as opaque strings (never
// parsed for meaning) and never become file-system paths; only digests name files in the store.

/// One file inside one Code Interpreter container: the unit of work `sync` downloads.
public struct ContainerFileRef: Hashable, Sendable, Codable, CustomStringConvertible {
  public let containerID: String
  public let fileID: String

  public init(containerID: String, fileID: String) {
    self.containerID = containerID
    self.fileID = fileID
  }

  public var description: String { "\(containerID)/\(fileID)" }
}

/// Checks on ids read from logs before they are placed in a URL path. The API's ids are short
/// runs of letters, digits, `_` and `-`; anything else (slashes, `..`, spaces, control
/// characters) would change the meaning of the URL, so such an id is refused, not escaped.
public enum IdentifierSyntax {
  public static let maximumLength = 128

  public static func isSafePathSegment(_ id: String) -> Bool {
    guard !id.isEmpty, id.utf8.count <= maximumLength else { return false }
    return id.utf8.allSatisfy { byte in
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        || byte == 0x5F || byte == 0x2D
    }
  }
}
