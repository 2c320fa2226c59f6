// Sizes as people read them, one formatter so `find` and the web gallery agree.
import Foundation

public enum ByteCount {
  /// 1.5 KiB, 20 MiB: binary units, as du -h and ls -h print them.
  public static func text(_ count: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
  }
}
