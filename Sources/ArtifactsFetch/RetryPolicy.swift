import Foundation

/// How hard to try before giving a file up. The floor is what the official SDKs do (a couple of
/// retries, `min(0.5·2ⁿ, 8)` s with jitter, server hints obeyed); the cap is higher because a
/// file lost here is lost for good.
public struct RetryPolicy: Sendable {
  public var maximumAttempts: Int
  public var baseDelay: Double
  public var maximumDelay: Double
  /// A `Retry-After` longer than this is not waited for in full.
  public var maximumServerDelay: Double

  public init(
    maximumAttempts: Int = 8, baseDelay: Double = 0.5, maximumDelay: Double = 8, maximumServerDelay: Double = 60
  ) {
    self.maximumAttempts = maximumAttempts
    self.baseDelay = baseDelay
    self.maximumDelay = maximumDelay
    self.maximumServerDelay = maximumServerDelay
  }

  /// The wait before attempt `attempt + 1`, given the server's hints (`retry-after-ms`,
  /// `retry-after` in seconds).
  func delay(afterAttempt attempt: Int, headers: [String: String]) -> Double {
    if let milliseconds = headers["retry-after-ms"].flatMap(Double.init), milliseconds >= 0 {
      return min(milliseconds / 1000, maximumServerDelay)
    }
    if let seconds = headers["retry-after"].flatMap(Double.init), seconds >= 0 {
      return min(seconds, maximumServerDelay)
    }
    let exponential = min(baseDelay * pow(2, Double(attempt - 1)), maximumDelay)
    return exponential * (1 - 0.25 * Double.random(in: 0..<1))
  }
}
