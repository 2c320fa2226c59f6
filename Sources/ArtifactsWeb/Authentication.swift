// Every route needs the token `serve` printed, as Jupyter's does: given once in the URL
// (`/?token=…`), it is swapped for a cookie and the address bar loses it; scripts may send
// `Authorization: Bearer …` instead. No token is 401, a wrong one 403. Only loopback is
// listened on, but any local user or web page could otherwise read the archive.
import Hummingbird

struct TokenAuthentication<Context: RequestContext>: RouterMiddleware {
  let token: String
  /// Cookies do not tell ports apart: two `serve`s on one machine must not share one.
  let cookieName: @Sendable () -> String

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    let parameters = GalleryQuery.parameters(request.uri.query)
    if let offered = parameters.first(where: { $0.0 == "token" })?.1 {
      guard Self.same(offered, token) else {
        throw WebError(.forbidden, "the token in the address is not this server's")
      }
      // Drop the token from the address: it would stay in the history and in shared links.
      let rest = parameters.filter { $0.0 != "token" }
        .map { "\(GalleryQuery.encode($0.0))=\(GalleryQuery.encode($0.1))" }.joined(separator: "&")
      var response = Response(
        status: .seeOther, headers: [.location: request.uri.path + (rest.isEmpty ? "" : "?" + rest)])
      response.setCookie(
        Cookie(name: cookieName(), value: token, path: "/", secure: false, httpOnly: true, sameSite: .strict))
      return response
    }
    if let authorization = request.headers[.authorization] {
      let parts = authorization.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, ["bearer", "token"].contains(parts[0].lowercased()), Self.same(String(parts[1]), token)
      else { throw WebError(.forbidden, "the Authorization header does not carry this server's token") }
      return try await next(request, context)
    }
    guard let cookie = request.cookies[cookieName()] else {
      throw WebError(
        .unauthorized,
        "open the address artifacts serve printed (it ends in ?token=…), or send Authorization: Bearer TOKEN")
    }
    guard Self.same(cookie.value, token) else {
      throw WebError(.forbidden, "this browser holds an old token: open the address artifacts serve printed")
    }
    return try await next(request, context)
  }

  /// Compares in time that does not depend on where the strings differ.
  static func same(_ offered: String, _ expected: String) -> Bool {
    let a = Array(offered.utf8)
    let b = Array(expected.utf8)
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<b.count { difference |= b[index] ^ (index < a.count ? a[index] : 0) }
    return difference == 0
  }
}
