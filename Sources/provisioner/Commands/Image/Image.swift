import ArgumentParser
import Foundation
import ProvisionerCore

extension Provisioner {
    /// `provisioner image …`: the shared node root and its generations.
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Build, list, verify, activate, roll back, remove, export and import node images.",
            discussion: """
                An image is a Debian root shared read-only over NFS. Each build is a new \
                generation (g1, g2, …) beside the live one; `current` points at the active \
                one and switching is one atomic rename, so nodes keep running on the old \
                generation until they reboot.
                """,
            subcommands: [Build.self, List.self, Activate.self, Rollback.self, Rollout.self, Rm.self, Verify.self, Export.self, Import.self]
        )
    }
}

/// Which image a command is about: `--image NAME`, or the image of `--profile`.
struct ImageSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Image name (default: the image of --profile).", valueName: "NAME"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp("Profile whose image to use.", valueName: "PROFILE"))
    var profile: String = "default"

    /// - Throws: `ValidationError` / `ConflictError` for an unknown profile or a bad name.
    func name(_ config: SiteConfig) throws -> String {
        if let image {
            guard !image.isEmpty, image.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), image.first != "." else {
                throw ValidationError(field: "image", value: image, reason: "expected letters, digits, - _ .")
            }
            return image
        }
        let p = try ProfileName(parsing: profile)
        guard let prof = config.profile(p) else { throw NotFoundError("profile", profile, message: "no profile \(quoted(profile)) in the site config") }
        return prof.image
    }
}
