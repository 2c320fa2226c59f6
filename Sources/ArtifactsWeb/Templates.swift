// The Mustache templates, compiled into the binary. `{{name}}` escapes HTML (&, <, >, quotes),
// and every name, id and cell that reaches a page comes from a log or a model, so the pages
// use only that form; the one `{{{body}}}` in the layout is a page these templates rendered.
import Mustache

struct Templates: Sendable {
  let library: MustacheLibrary

  init() throws {
    var library = MustacheLibrary()
    let sources: [(String, [UInt8])] = [
      ("layout", PackageResources.layout_mustache), ("gallery", PackageResources.gallery_mustache),
      ("file", PackageResources.file_mustache), ("problems", PackageResources.problems_mustache),
      ("message", PackageResources.message_mustache),
    ]
    for (name, bytes) in sources {
      try library.register(MustacheTemplate(string: String(decoding: bytes, as: UTF8.self)), named: name)
    }
    self.library = library
  }

  static let styleSheet = PackageResources.style_css

  /// `page` rendered inside the layout.
  func render(_ page: String, _ values: [String: Any], layout: [String: Any]) -> String {
    var layout = layout
    layout["body"] = library.render(values, withTemplate: page) ?? ""
    return library.render(layout, withTemplate: "layout") ?? ""
  }
}
