// The two Containers API calls besides downloading: a container's status (which refreshes it,
// and tells when it will expire) and the list of its files.
import ArtifactsCore
import Foundation

public struct ContainerStatus: Sendable, Equatable {
  public var id: String
  public var status: String
  /// When the container expires, on the local clock: computed on the server's clock (its
  /// `Date` header against `last_active_at + expires_after`) so a skewed local clock does not
  /// shift it.
  public var deadline: Date
  /// The same as a span: the time left, counted from when the request was sent, so a caller
  /// with its own clock can place the deadline on it.
  public var secondsLeft: Double
  public var lifetimeSeconds: Double
}

public struct ListedFile: Sendable, Equatable {
  public var id: String
  /// `/mnt/data/…`
  public var path: String
  /// `assistant` or `user`.
  public var source: String
  public var createdAt: Int64?

  public var name: String { (path as NSString).lastPathComponent }
}

public enum ContainerAnswer<Value: Sendable>: Sendable {
  case ok(Value)
  /// The server says the container is gone (expired or unknown).
  case gone(UnarchivedReason)
  /// No usable answer; not the server's word about the container.
  case failed(UnarchivedReason)
  case cancelled
}

extension ContainerAnswer {
  static func from(_ reason: UnarchivedReason) -> ContainerAnswer {
    reason.concernsContainer ? .gone(reason) : .failed(reason)
  }
}

extension TransferEngine {
  /// `GET /containers/{id}`. Like any container call it also refreshes the container.
  public func containerStatus(_ id: String) async -> ContainerAnswer<ContainerStatus> {
    guard IdentifierSyntax.isSafePathSegment(id) else {
      return .failed(UnarchivedReason(.rejected, "\(id) is not a container id"))
    }
    let sent = Date()
    switch await get("/containers/\(id)") {
    case .ok(let response):
      let received = Date()
      guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
        return .failed(UnarchivedReason(.rejected, "GET /containers/\(id) did not answer with a JSON object"))
      }
      let status = object["status"] as? String ?? "unknown"
      if status == "expired" || status == "deleted" {
        return .gone(UnarchivedReason(.containerExpired, "the API says container \(id) is \(status)"))
      }
      let minutes = ((object["expires_after"] as? [String: Any])?["minutes"] as? NSNumber)?.doubleValue
      let lifetime = minutes.map { $0 * 60 } ?? ContainerLifetime.default
      guard let lastActive = (object["last_active_at"] as? NSNumber)?.doubleValue else {
        return .ok(
          ContainerStatus(
            id: id, status: status, deadline: received.addingTimeInterval(lifetime),
            secondsLeft: lifetime - received.timeIntervalSince(sent), lifetimeSeconds: lifetime))
      }
      // Remaining life on the server's clock, counted from when the request was sent: the
      // server answered after that, so the deadline is never later than the real one.
      // `Date` has whole seconds: the server's clock may be up to a second past what it says.
      let serverNow = response.serverDate.map { $0.timeIntervalSince1970 + 1 } ?? received.timeIntervalSince1970
      let remaining = lastActive + lifetime - serverNow
      return .ok(
        ContainerStatus(
          id: id, status: status, deadline: sent.addingTimeInterval(remaining), secondsLeft: remaining,
          lifetimeSeconds: lifetime))
    case .unarchived(let reason): return .from(reason)
    case .cancelled: return .cancelled
    }
  }

  /// Every file in the container, following `has_more`/`after` through all pages.
  public func listFiles(_ id: String) async -> ContainerAnswer<[ListedFile]> {
    guard IdentifierSyntax.isSafePathSegment(id) else {
      return .failed(UnarchivedReason(.rejected, "\(id) is not a container id"))
    }
    var files: [ListedFile] = []
    var after: String?
    for _ in 0..<10_000 {
      var path = "/containers/\(id)/files?limit=100&order=asc"
      if let after { path += "&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? after)" }
      switch await get(path) {
      case .ok(let response):
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
          let data = object["data"] as? [[String: Any]]
        else { return .failed(UnarchivedReason(.rejected, "GET \(path) did not answer with a file list")) }
        for entry in data {
          guard let fileID = entry["id"] as? String else { continue }
          files.append(
            ListedFile(
              id: fileID, path: entry["path"] as? String ?? fileID, source: entry["source"] as? String ?? "assistant",
              createdAt: (entry["created_at"] as? NSNumber)?.int64Value))
        }
        guard object["has_more"] as? Bool == true, let last = object["last_id"] as? String ?? files.last?.id,
          last != after
        else { return .ok(files) }
        after = last
      case .unarchived(let reason): return .from(reason)
      case .cancelled: return .cancelled
      }
    }
    return .failed(UnarchivedReason(.rejected, "the file list of \(id) did not end"))
  }
}
