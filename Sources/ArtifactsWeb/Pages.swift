// The HTML pages: the gallery (and search), a file's page, the lost and failed files. Each
// asks Kit for records and hands the templates plain values; nothing here touches the
// catalog or the disk, and Kit does its work off the event loop.
import ArtifactsCore
import ArtifactsKit
import Foundation
import Hummingbird

struct Pages: Sendable {
  let gallery: Gallery
  let templates: Templates
  static let pageSize = 60

  func galleryPage(_ request: Request) async throws -> Response {
    let selection = GalleryQuery(queryString: request.uri.query)
    var values: [String: Any] = [
      "heading": selection.isFiltered ? "Files matching the search" : "Newest files",
      "filtersOpen": selection.isFiltered && selection.text.isEmpty,
      "form": form(selection), "pageNumber": selection.page,
      "exportQuery": selection.queryString(),
      "emptyMessage": selection.isFiltered
        ? "No archived file matches." : "Nothing is archived yet: artifacts sync archives the files your logs cite.",
    ]
    switch selection.findQuery() {
    case .failure(let error):
      values["error"] = error.message
      values["hasFiles"] = false
    case .success(let query):
      let page = try await kit {
        try await gallery.page(query, offset: (selection.page - 1) * Self.pageSize, size: Self.pageSize)
      }
      values["files"] = page.files.map(card)
      values["hasFiles"] = !page.files.isEmpty
      if selection.page > 1 { values["previousPage"] = "/?" + selection.queryString(page: selection.page - 1) }
      if page.hasMore { values["nextPage"] = "/?" + selection.queryString(page: selection.page + 1) }
      if selection.isFiltered {
        values["heading"] = page.files.isEmpty ? "No match" : "Matching \(describe(selection))"
      }
    }
    return try await html(
      render("gallery", values, title: selection.isFiltered ? "Search" : "Gallery", searchText: selection.text))
  }

  func filePage(_ request: Request, containerID: String, fileID: String) async throws -> Response {
    guard let file = try await kit({ try await gallery.file(containerID: containerID, fileID: fileID) }) else {
      throw WebError(.notFound, "the archive has no file \(fileID) in container \(containerID)")
    }
    var values = facts(of: file)
    let preview = try await kit { try await gallery.preview(of: file) }
    values["preview"] = previewValues(preview, file: file)
    values["citations"] = file.citations.map(citation)
    values["citationSummary"] =
      switch file.citations.count {
      case 0: "by no response (found by listing its container)"
      case 1: "once"
      case let count: "\(count) times"
      }
    return try await html(render("file", values, title: file.filename, searchText: ""))
  }

  func problemsPage(_ request: Request) async throws -> Response {
    let selection = GalleryQuery(queryString: request.uri.query)
    let query = FindQuery(states: [.lost, .failed], sort: .newest)
    let page = try await kit {
      try await gallery.page(query, offset: (selection.page - 1) * Self.pageSize, size: Self.pageSize)
    }
    let pending = try await kit { try await gallery.count(in: [.pending]) }
    var values: [String: Any] = [
      "files": page.files.map { file -> [String: Any] in
        var row = card(file)
        row["state"] = file.state.rawValue
        row["reason"] = file.lastError ?? "no reason recorded"
        return row
      },
      "hasFiles": !page.files.isEmpty, "pendingCount": pending,
    ]
    if selection.page > 1 { values["previousPage"] = "/problems?page=\(selection.page - 1)" }
    if page.hasMore { values["nextPage"] = "/problems?page=\(selection.page + 1)" }
    return try await html(render("problems", values, title: "Lost and failed", searchText: ""))
  }

  /// An error as a page (the status says what happened; the page says what to do).
  func errorPage(_ error: WebError) async -> Response {
    let body =
      (try? await render(
        "message", ["heading": error.heading, "message": error.message], title: error.heading, searchText: "",
        withCounts: error.code != .unauthorized && error.code != .forbidden))
      ?? error.message
    var response = (try? await html(body)) ?? Response(status: error.status)
    response.status = error.status
    return response
  }

  // MARK: Values for the templates

  private func render(
    _ page: String, _ values: [String: Any], title: String, searchText: String, withCounts: Bool = true
  ) async throws -> String {
    var layout: [String: Any] = [
      "title": title, "searchText": searchText, "storeDescription": gallery.store.blobsDescription,
      "storeRoot": gallery.store.root,
    ]
    if withCounts {
      let problems = try await kit { try await gallery.count(in: [.lost, .failed]) }
      if problems > 0 { layout["problemCount"] = problems }
    }
    return templates.render(page, values, layout: layout)
  }

  private func html(_ text: String) async throws -> Response {
    Response(
      status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
  }

  private func form(_ selection: GalleryQuery) -> [String: Any] {
    [
      "q": selection.text, "regex": selection.regex, "exact": selection.exact,
      "ext": selection.extensions.joined(separator: ","), "type": selection.mediaType, "model": selection.model,
      "container": selection.container, "response": selection.response, "since": selection.since,
      "until": selection.until,
      "sorts": FindQuery.Sort.allCases.map {
        ["value": $0.rawValue, "selected": $0 == selection.sort] as [String: Any]
      },
    ]
  }

  private func describe(_ selection: GalleryQuery) -> String {
    var parts: [String] = []
    if !selection.text.isEmpty { parts.append("“\(selection.text)”") }
    if !selection.extensions.isEmpty { parts.append("." + selection.extensions.joined(separator: ", .")) }
    if !selection.mediaType.isEmpty { parts.append(selection.mediaType) }
    if !selection.model.isEmpty { parts.append("from \(selection.model)") }
    if !selection.container.isEmpty { parts.append("in \(selection.container)") }
    if !selection.response.isEmpty { parts.append("cited by \(selection.response)") }
    if !selection.since.isEmpty { parts.append("since \(selection.since)") }
    if !selection.until.isEmpty { parts.append("until \(selection.until)") }
    return parts.joined(separator: " ")
  }

  static func fileHref(_ file: FileRecord) -> String {
    "/file/\(GalleryQuery.encode(file.containerId))/\(GalleryQuery.encode(file.fileId))"
  }

  private func card(_ file: FileRecord) -> [String: Any] {
    var values: [String: Any] = [
      "filename": file.filename, "href": Self.fileHref(file), "containerId": file.containerId,
      "size": file.size.map(Self.formatSize) ?? file.state.rawValue, "mediaType": file.mediaType ?? "",
      "date": Self.producedDate(file), "kind": Self.kindLabel(file.filename),
    ]
    if let response = file.responseId { values["responseId"] = response }
    if let digest = file.sha256, let type = file.mediaType, Self.rasterTypes.contains(type) {
      values["thumbnail"] = "/thumb/\(digest.hex).webp"
    }
    return values
  }

  static let rasterTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp"]

  private func facts(of file: FileRecord) -> [String: Any] {
    var values: [String: Any] = [
      "filename": file.filename, "state": file.state.rawValue, "containerId": file.containerId,
      "fileId": file.fileId, "source": file.source, "firstSeenAt": file.firstSeenAt,
    ]
    if let digest = file.sha256 { values["digest"] = digest.hex }
    if let size = file.size { values["size"] = "\(Self.formatSize(size)) (\(size) bytes)" }
    if let type = file.mediaType { values["mediaType"] = type }
    if let archived = file.archivedAt { values["archivedAt"] = archived }
    if let error = file.lastError { values["lastError"] = error }
    if let location = file.path ?? file.uri { values["location"] = location }
    return values
  }

  private func previewValues(_ preview: Gallery.Preview, file: FileRecord) -> [String: Any] {
    switch preview {
    case .image: return ["image": true]
    case .table(let rows, let truncated):
      return ["table": true, "rows": rows.map { ["cells": $0] }, "truncated": truncated]
    case .json(let text, let truncated), .text(let text, let truncated):
      return ["code": text, "truncated": truncated]
    case .none:
      let type = file.mediaType ?? "these"
      let reason =
        file.sha256 == nil
        ? "This file has no bytes in the archive (\(file.state.rawValue))."
        : Gallery.isMarkup(type)
          ? "\(type) files are never shown here: they could run code in this page. Download the file to open it."
          : "No preview for \(type) files: download it."
      return ["none": reason]
    }
  }

  private func citation(_ citation: CitationRecord) -> [String: Any] {
    var values: [String: Any] = [
      "model": citation.model ?? "", "citedText": citation.citedText ?? "",
      "time": citation.createdAt.map(Self.formatTime) ?? "", "log": citation.log ?? "",
    ]
    if let response = citation.responseID { values["responseId"] = response }
    if let line = citation.line { values["line"] = line }
    return values
  }

  // MARK: Formatting

  /// The units `find` prints.
  static func formatSize(_ count: Int64) -> String { ByteCount.text(count) }

  static func formatTime(_ unixSeconds: Int64) -> String {
    let date = Date(timeIntervalSince1970: TimeInterval(unixSeconds))
    return date.formatted(
      Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateTimeSeparator(.space).time(
        includingFractionalSeconds: false)) + " UTC"
  }

  static func producedDate(_ file: FileRecord) -> String {
    if let created = file.latestCitation?.createdAt { return formatTime(created) }
    return file.archivedAt.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") + " UTC" } ?? ""
  }

  /// What a card without a picture shows: the extension, in capitals.
  static func kindLabel(_ filename: String) -> String {
    let parts = filename.split(separator: ".")
    guard parts.count > 1, let last = parts.last, last.count <= 5 else { return "FILE" }
    return last.uppercased()
  }
}

/// Runs a Kit call, turning its error into the page's.
func kit<T>(_ body: () async throws -> T) async throws(WebError) -> T {
  do { return try await body() } catch let error as KitError { throw WebError(error) } catch let error as WebError {
    throw error
  } catch { throw WebError(.unavailable, "\(error)") }
}
