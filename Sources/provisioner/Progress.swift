import Foundation
import ProvisionerServices

/// Progress lines on stderr: phases with elapsed time, counted steps at most
/// once per 10%, the tools' output with --verbose.
final class Progress {
    let quiet: Bool
    let verbose: Bool
    let start = Date()
    var lastPercent: [String: Int] = [:]
    var lastCount: [String: Int] = [:]

    init(quiet: Bool, verbose: Bool) {
        self.quiet = quiet
        self.verbose = verbose
    }

    func line(_ s: String) {
        FileHandle.standardError.write(Data((String(format: "[%6.1fs] ", Date().timeIntervalSince(start)) + s + "\n").utf8))
    }

    func warn(_ s: String) { FileHandle.standardError.write(Data("provisioner: warning: \(s)\n".utf8)) }

    func handle(_ e: BuildEvent) {
        switch e {
        case .warning(let w): warn(w)
        case .phase(let p): if !quiet { line(p) }
        case .output(let o): if verbose && !quiet { line("  " + o) }
        case .progress(let what, let done, let total):
            guard !quiet else { return }
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
