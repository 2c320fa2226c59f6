// How a person writes a time for `--since`, `--until`, `--older-than`, `--grace` and the web
// gallery's filters: one parser, so the command line and the browser agree.
import Foundation

public enum TimeExpression {
  /// A length of time: `90s`, `30m`, `12h`, `7d`, `2w`.
  public static func seconds(_ text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400]
    guard let unit = text.last, let scale = units[unit], let amount = Double(text.dropLast()), amount >= 0 else {
      return nil
    }
    return amount * scale
  }

  /// A point in time: an ISO date (`2026-11-01`, `2026-11-01T10:30`, with or without `Z`, in
  /// UTC), or a length of time before `now`.
  public static func unixSeconds(_ text: String, now: Date = Date()) -> Int64? {
    let text = text.trimmingCharacters(in: .whitespaces)
    if let seconds = seconds(text) { return Int64(now.timeIntervalSince1970) - Int64(seconds) }
    let formats = ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"]
    for format in formats {
      let formatter = DateFormatter()
      formatter.locale = Locale(identifier: "en_US_POSIX")
      formatter.timeZone = TimeZone(identifier: "UTC")
      formatter.dateFormat = format
      if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
    }
    return nil
  }
}
