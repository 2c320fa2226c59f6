// The bytes of archived files, thumbnails and exports. A model wrote these files, so they are
// served only from routes that name their digest and never as anything a browser would run
// in this origin: `Content-Security-Policy: default-src 'none'; sandbox` (no script, no
// plugin, an opaque origin even if opened directly), `nosniff`, and `attachment` for anything
// but raster images (told by their bytes) and text, which goes out as text/plain.
import ArtifactsCore
import ArtifactsKit
import Foundation
import Hummingbird

struct Downloads: Sendable {
  let gallery: Gallery

  static let inertPolicy = "default-src 'none'; sandbox"

  func blob(_ request: Request, digestText: String) async throws -> Response {
    let digest = try archivedDigest(digestText)
    let files = try await kit { try await gallery.files(withDigest: digest) }
    guard let file = files.first else {
      throw WebError(.notFound, "no archived file has the digest \(digest.hex)")
    }
    let parameters = GalleryQuery.parameters(request.uri.query)
    let forceDownload = parameters.contains { $0.0 == "download" && $0.1 != "0" }
    // The name a download is saved under: one the file was archived as.
    let requestedName = parameters.first { $0.0 == "name" }?.1
    let name = files.first { $0.filename == requestedName }?.filename ?? file.filename

    let prefix = try await kit { try await gallery.prefix(of: digest, bytes: 16) }
    let contentType: String
    var inline = !forceDownload
    if let image = MediaType.rasterImage(prefix: prefix) {
      contentType = image
    } else if let type = file.mediaType, Gallery.showsAsText(type), MediaType.looksLikeText(prefix) || file.size == 0 {
      contentType = "text/plain; charset=utf-8"
    } else {
      contentType = "application/octet-stream"
      inline = false
    }
    var headers: HTTPFields = [
      .contentType: contentType,
      .contentDisposition: Self.disposition(inline: inline, filename: name),
      .cacheControl: "private, max-age=31536000, immutable",
    ]
    headers[.contentSecurityPolicy] = Self.inertPolicy
    let chunks = gallery.content(of: digest)
    return Response(
      status: .ok, headers: headers,
      body: ResponseBody(contentLength: file.size.map(Int.init)) { writer in
        for try await chunk in chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
        try await writer.finish(nil)
      })
  }

  func thumbnail(_ request: Request, name: String) async throws -> Response {
    guard name.hasSuffix(".webp") else { throw WebError(.notFound, "thumbnails are named DIGEST.webp") }
    let digest = try archivedDigest(String(name.dropLast(".webp".count)))
    guard try await !kit({ try await gallery.files(withDigest: digest) }).isEmpty else {
      throw WebError(.notFound, "no archived file has the digest \(digest.hex)")
    }
    switch await gallery.thumbnail(of: digest) {
    case .webp(let bytes):
      var headers: HTTPFields = [.contentType: "image/webp", .cacheControl: "private, max-age=31536000, immutable"]
      headers[.contentSecurityPolicy] = Self.inertPolicy
      return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    case .unavailable(let reason):
      throw WebError(.notFound, "no thumbnail of \(digest.hex): \(reason)")
    }
  }

  /// `artifacts export` of the selection in the URL, streamed as it is written.
  func export(_ request: Request) async throws -> Response {
    let selection = GalleryQuery(queryString: request.uri.query)
    let query: FindQuery
    switch selection.findQuery() {
    case .success(let found): query = found
    case .failure(let error): throw error
    }
    let first = try await kit { try await gallery.page(query, offset: 0, size: 1) }
    guard !first.files.isEmpty else {
      throw WebError(.notFound, "no archived file matches, so there is nothing to export")
    }
    let chunks = gallery.export(query)
    var headers: HTTPFields = [
      .contentType: "application/x-tar",
      .contentDisposition: Self.disposition(inline: false, filename: "artifacts-export.tar"),
      .cacheControl: "no-store",
    ]
    headers[.contentSecurityPolicy] = Self.inertPolicy
    return Response(
      status: .ok, headers: headers,
      body: ResponseBody { writer in
        for try await chunk in chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
        try await writer.finish(nil)
      })
  }

  private func archivedDigest(_ text: String) throws(WebError) -> Digest {
    guard text.count == 64, let digest = Digest(hex: text.lowercased()) else {
      throw WebError(.notFound, "\(text) is not a SHA-256 digest (64 hex digits)")
    }
    return digest
  }

  /// `inline` or `attachment`, with the name as ASCII (anything else replaced) and as UTF-8
  /// (RFC 6266 `filename*`). Names come from logs: no quote, slash or control character
  /// survives into the header.
  static func disposition(inline: Bool, filename: String) -> String {
    let base = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? "file"
    let ascii = String(
      base.unicodeScalars.map { scalar -> Character in
        scalar.isASCII && (0x20..<0x7F).contains(scalar.value) && !"\"\\;%".unicodeScalars.contains(scalar)
          ? Character(scalar) : "_"
      })
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let encoded = base.addingPercentEncoding(withAllowedCharacters: allowed) ?? "file"
    return
      "\(inline ? "inline" : "attachment"); filename=\"\(ascii.isEmpty ? "file" : ascii)\"; filename*=UTF-8''\(encoded)"
  }
}

extension HTTPFields.Element.Name {
  static let contentSecurityPolicy = Self("Content-Security-Policy")!
  static let xContentTypeOptions = Self("X-Content-Type-Options")!
  static let referrerPolicy = Self("Referrer-Policy")!
  static let xFrameOptions = Self("X-Frame-Options")!
  static let serverTiming = Self("Server-Timing")!
  static let crossOriginResourcePolicy = Self("Cross-Origin-Resource-Policy")!
}
