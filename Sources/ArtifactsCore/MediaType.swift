/// Media types are guessed from the bytes first and the name second: the content endpoint
/// sends no Content-Type, and names from logs are only what the model chose to call a file.
public enum MediaType {
  public static func sniff(prefix: [UInt8], filename: String) -> String {
    if let fromBytes = fromMagic(prefix) { return fromBytes }
    let lowercased = filename.lowercased()
    let ext = lowercased.split(separator: ".").count > 1 ? String(lowercased.split(separator: ".").last!) : ""
    if let fromName = byExtension[ext] { return fromName }
    return looksLikeText(prefix) ? "text/plain" : "application/octet-stream"
  }

  /// The media type of a PNG, JPEG, GIF or WebP image, told by its first bytes alone (the
  /// only images a browser is shown or libvips decodes); nil for anything else.
  public static func rasterImage(prefix: [UInt8]) -> String? {
    switch fromMagic(prefix) {
    case let type? where ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(type): type
    default: nil
    }
  }

  static func fromMagic(_ bytes: [UInt8]) -> String? {
    func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
      bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
    }
    if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
    if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
    if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return "image/gif" }
    if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
    if starts(Array("%PDF-".utf8)) { return "application/pdf" }
    if starts([0x1F, 0x8B]) { return "application/gzip" }
    if starts([0x50, 0x4B, 0x03, 0x04]) { return nil }  // zip family: the extension says which (xlsx, docx, zip)
    if starts(Array("SQLite format 3\0".utf8)) { return "application/vnd.sqlite3" }
    return nil
  }

  static let byExtension: [String: String] = [
    "csv": "text/csv", "tsv": "text/tab-separated-values", "txt": "text/plain", "log": "text/plain",
    "md": "text/markdown", "json": "application/json", "jsonl": "application/jsonl", "html": "text/html",
    "svg": "image/svg+xml", "xml": "application/xml", "py": "text/x-python", "png": "image/png",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "pdf": "application/pdf",
    "zip": "application/zip", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "parquet": "application/vnd.apache.parquet", "gz": "application/gzip", "tar": "application/x-tar",
  ]

  public static func looksLikeText(_ bytes: [UInt8]) -> Bool {
    guard !bytes.isEmpty else { return false }
    if bytes.contains(0) { return false }
    // The prefix may end inside a multi-byte character, so allow up to three bytes to be cut.
    return (0...min(3, bytes.count - 1)).contains { String(validating: bytes.dropLast($0), as: UTF8.self) != nil }
  }
}
