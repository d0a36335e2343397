/// Image build events as progress lines for people: each phase, counted
/// steps at most once per 10% (or every 25 when the total is unknown), the
/// tools' own output only when verbose. The CLI and the lab give it their sinks.
public final class BuildProgress {
    let verbose: Bool
    let line: (String) -> Void
    let warn: (String) -> Void
    var lastPercent: [String: Int] = [:]
    var lastCount: [String: Int] = [:]

    public init(verbose: Bool, line: @escaping (String) -> Void, warn: @escaping (String) -> Void) {
        self.verbose = verbose
        self.line = line
        self.warn = warn
    }

    public func handle(_ e: BuildEvent) {
        switch e {
        case .warning(let w): warn(w)
        case .phase(let p): line(p)
        case .output(let o): if verbose { line("  " + o) }
        case .progress(let what, let done, let total):
            if let total, total > 0 {
                let pct = min(100, done * 100 / total)
                if pct / 10 != (lastPercent[what] ?? -1) / 10 || done == total {
                    lastPercent[what] = pct
                    line("  \(what): \(done)/\(total) (\(pct)%)")
                }
            } else if done - (lastCount[what] ?? 0) >= 25 || done == 1 {
                lastCount[what] = done
                line("  \(what): \(done)")
            }
        }
    }
}
