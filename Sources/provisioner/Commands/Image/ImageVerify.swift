import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerImages

extension Provisioner.Image {
    /// `provisioner image verify [GEN]`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check that a generation can boot a diskless node.",
            discussion: """
                Kernel and initrd present and published; the initrd (read with libarchive) \
                holds the NFS boot script, nfsmount, ipconfig, the nfs/nfsv3/sunrpc/overlay \
                modules and the overlay script; no /etc/hostname; the node controller is \
                installed and runs in the root; and, when the NFS server runs, the export is \
                mounted with libnfs from user space, /etc/os-release read through it and a \
                write refused. Exit status 1 when a check fails.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @OptionGroup var output: OutputOptions
        @Argument(help: "Generation id (default: the active one).") var generation: String?

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let (id, checks) = try global.site.verifyImage(image, generation: try generation.map { try GenerationID(parsing: $0) })
            let failed = checks.filter(\.failed)
            if output.json {
                struct Report: Encodable { var image: String; var generation: String; var ok: Bool; var checks: [VerifyCheck] }
                emit(try jsonText(Report(image: image, generation: id.description, ok: failed.isEmpty, checks: checks)))
            } else {
                emit(TextTable.render(header: ["CHECK", "RESULT", "DETAIL"], rows: checks.map { [$0.name, $0.result.rawValue, $0.detail] }))
                emit(failed.isEmpty ? "\(image) \(id): all checks passed\n" : "\(image) \(id): \(failed.count) check(s) failed\n")
            }
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }
}
