import FoundationEssentials
import ProvisionerAPI

/// Reads the node's own boot timings from systemd: its monotonic timestamps
/// (`systemctl show`), and once the boot has finished, `systemd-analyze blame`.
public struct BootTimingsProbe: Sendable {
    /// Runs a command and returns its standard output, or nil when it failed.
    public typealias Runner = @Sendable (_ path: String, _ args: [String]) -> String?

    let run: Runner
    /// Seconds since boot now (the controller's own start, at its first call).
    let uptime: @Sendable () -> Double?

    public init(run: @escaping Runner = BootTimingsProbe.runCommand, uptime: @escaping @Sendable () -> Double? = { HostProbe().uptimeSeconds() }) {
        self.run = run
        self.uptime = uptime
    }

    /// The timings as far as the boot has got; nil where systemd cannot be asked (not PID 1).
    /// - Parameter controllerStart: seconds since boot when the controller started.
    public func timings(controllerStart: Double?) -> BootTimings? {
        guard let show = run("/bin/systemctl", ["show", "--property=InitRDTimestampMonotonic", "--property=UserspaceTimestampMonotonic",
                                                 "--property=FinishTimestampMonotonic"]) else { return nil }
        var t = Self.parseShow(show)
        if let userspace = Self.monotonic(show, "UserspaceTimestampMonotonic"), let start = controllerStart {
            t.controllerStartSeconds = max(0, start - userspace)
        }
        if t.finished, let blame = run("/usr/bin/systemd-analyze", ["blame", "--no-pager"]) {
            t.slowestUnits = Array(Self.parseBlame(blame).prefix(5))
        }
        return t
    }

    /// `systemctl show` output (`Key=µs` lines) as timings: kernel and initrd, and userspace once finished.
    public static func parseShow(_ text: String) -> BootTimings {
        let initrd = monotonic(text, "InitRDTimestampMonotonic")
        let userspace = monotonic(text, "UserspaceTimestampMonotonic")
        let finish = monotonic(text, "FinishTimestampMonotonic")
        var t = BootTimings()
        if let userspace {
            // Without a systemd initrd, the kernel's part runs until userspace starts (the initramfs included).
            t.kernelSeconds = initrd ?? userspace
            if let initrd { t.initrdSeconds = max(0, userspace - initrd) }
            if let finish { t.userspaceSeconds = max(0, finish - userspace) }
        }
        return t
    }

    /// A `…Monotonic=µs` property in seconds; nil when absent or 0 (never happened).
    static func monotonic(_ text: String, _ key: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
            guard let us = Double(line.dropFirst(key.count + 1)), us > 0 else { return nil }
            return us / 1_000_000
        }
        return nil
    }

    /// `systemd-analyze blame` lines (`1min 2.345s unit`, `523ms unit`), slowest first.
    public static func parseBlame(_ text: String) -> [BootTimings.UnitTime] {
        var out: [BootTimings.UnitTime] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 2, let unit = words.last else { continue }
            var seconds = 0.0
            var parsed = false
            for w in words.dropLast() {
                guard let v = duration(String(w)) else { parsed = false; break }
                seconds += v
                parsed = true
            }
            if parsed { out.append(.init(unit: String(unit), seconds: seconds)) }
        }
        return out.sorted { $0.seconds > $1.seconds }
    }

    /// One systemd time span word: `1min`, `2.345s`, `523ms`, `12us`, `1h`.
    static func duration(_ word: String) -> Double? {
        for (suffix, factor) in [("min", 60.0), ("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("h", 3600), ("s", 1)] where word.hasSuffix(suffix) {
            return Double(word.dropLast(suffix.count)).map { $0 * factor }
        }
        return nil
    }

    /// Runs `path args` and returns its stdout, or nil when it could not run or failed.
    public static let runCommand: Runner = { path, args in
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        guard let result = Posix.run(path, args), result.status == 0 else { return nil }
        return String(decoding: result.output, as: UTF8.self)
    }
}
