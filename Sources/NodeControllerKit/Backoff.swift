/// Delays of the controller loop: jittered heartbeat intervals and capped exponential backoff.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    /// A uniform random number in a range; injectable so tests are deterministic.
    public var random: @Sendable (ClosedRange<Double>) -> Double

    public init(base: Double = 1, cap: Double = 30, random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) {
        self.base = base
        self.cap = cap
        self.random = random
    }

    /// The wait after the `failures`-th consecutive failure (1-based): base·2ⁿ⁻¹ ±20%, never above `cap`.
    public func delay(afterFailures failures: Int) -> Double {
        let exponent = Double(min(max(failures, 1) - 1, 30))
        let raw = min(cap, base * pow2(exponent))
        return min(cap, raw * random(0.8...1.2))
    }

    /// A heartbeat interval ±10%.
    public func jittered(_ interval: Double) -> Double {
        interval * random(0.9...1.1)
    }

    private func pow2(_ e: Double) -> Double {
        var v = 1.0
        for _ in 0..<Int(e) { v *= 2 }
        return v
    }
}
