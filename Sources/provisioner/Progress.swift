import Foundation
import ProvisionerImages

/// An image build's progress on stderr, each line with the time since the
/// start; nothing but warnings when quiet.
func buildProgress(quiet: Bool, verbose: Bool) -> BuildProgress {
    let start = Date()
    return BuildProgress(
        verbose: verbose,
        line: { s in
            guard !quiet else { return }
            FileHandle.standardError.write(Data((String(format: "[%6.1fs] ", Date().timeIntervalSince(start)) + s + "\n").utf8))
        },
        warn: { FileHandle.standardError.write(Data("provisioner: warning: \($0)\n".utf8)) })
}
