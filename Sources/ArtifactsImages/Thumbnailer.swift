// Small pictures of archived charts for the web gallery. The bytes were written by a model,
// so they are treated as hostile: only PNG, JPEG, GIF and WebP are decoded (libvips's other
// loaders stay blocked, SVG among them), and an image whose header promises more pixels than
// `Limits` allow is refused before a single row is decoded.
import CVips

public struct ImageError: Error, Sendable, CustomStringConvertible {
  /// What was being made a thumbnail of (a digest, a file name).
  public var subject: String
  public var reason: String

  public init(subject: String, reason: String) {
    self.subject = subject
    self.reason = reason
  }

  public var description: String { "cannot make a thumbnail of \(subject): \(reason)" }
}

public struct Thumbnailer: Sendable {
  public struct Limits: Sendable {
    /// Bytes of the encoded image.
    public var maximumBytes: Int
    /// Pixels on either side, read from the header.
    public var maximumSide: Int32
    /// Width × height, read from the header (a decompression bomb names a huge canvas in a few bytes).
    public var maximumPixels: Int64

    public init(maximumBytes: Int, maximumSide: Int32, maximumPixels: Int64) {
      self.maximumBytes = maximumBytes
      self.maximumSide = maximumSide
      self.maximumPixels = maximumPixels
    }

    /// 64 MiB, 16,384 pixels a side, 100 megapixels: well above any chart.
    public static let standard = Limits(
      maximumBytes: 64 << 20, maximumSide: 16_384, maximumPixels: 100_000_000)
  }

  /// The box a thumbnail fits in (never enlarged).
  public var width: Int32
  public var height: Int32
  public var limits: Limits

  public init(width: Int32 = 480, height: Int32 = 360, limits: Limits = .standard) {
    self.width = width
    self.height = height
    self.limits = limits
  }

  /// Why libvips cannot be used here (the library is missing); nil when it can.
  public static var unavailableReason: String? {
    var error = [CChar](repeating: 0, count: 512)
    return cvips_load(&error, error.count) ? nil : Self.text(error)
  }

  /// The C string in `buffer`.
  static func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// A WebP thumbnail of the image in `bytes`. Blocks while libvips works: call it off any
  /// event loop.
  public func thumbnail(of bytes: [UInt8], subject: String) throws(ImageError) -> [UInt8] {
    guard bytes.count <= limits.maximumBytes else {
      throw ImageError(subject: subject, reason: "\(bytes.count) bytes, over the limit of \(limits.maximumBytes)")
    }
    var output: UnsafeMutableRawPointer?
    var outputLength = 0
    var error = [CChar](repeating: 0, count: 512)
    let made = bytes.withUnsafeBytes { buffer in
      cvips_thumbnail(
        buffer.baseAddress, buffer.count, width, height, limits.maximumSide, limits.maximumPixels, &output,
        &outputLength, &error, error.count)
    }
    defer { cvips_free(output) }
    guard made, let output else { throw ImageError(subject: subject, reason: Self.text(error)) }
    return [UInt8](UnsafeRawBufferPointer(start: output, count: outputLength))
  }
}
