import ArgumentParser
import Foundation
import ProvisionerCore

extension Provisioner.Cloud {
    /// `provisioner cloud attach incus https://HOST:8443 --trust-token T`.
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Attach the site to an existing Incus cluster with a trust token.",
            discussion: """
                On a member of the cluster: `incus config trust add provisioner` prints a trust token. This checks that \
                the certificate at the address is the one the token names (and pins it), adds a client certificate \
                made here to the cluster's trust with the token, and writes cloud.engine, cloud.endpoint and \
                cloud.fingerprint into the site config. A wrong token, an address that does not answer or another \
                certificate is one error, and nothing is written.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The cloud's engine: incus.") var engine: String
        @Argument(help: "A member's REST address, https://HOST[:PORT].") var endpoint: String
        @Option(name: .customLong("trust-token"), help: ArgumentHelp(
            "The token `incus config trust add` printed: - to read it from standard input, @FILE from a file (a token given as is shows in `ps`).",
            valueName: "TOKEN"))
        var trustToken: String

        func run() throws {
            guard engine == CloudEngine.incus.rawValue else {
                throw ValidationError(field: "engine", value: engine, reason: "only incus can be attached (libvirt needs nothing)")
            }
            var token = trustToken
            if token == "-" {
                token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else if token.hasPrefix("@") {
                let path = String(token.dropFirst())
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError(field: "trust token", value: token, reason: "the file cannot be read")
                }
                token = String(decoding: data, as: UTF8.self)
            }
            let attached = try global.site.cloudAttach(endpoint: endpoint, trustToken: token)
            if output.json { emit(try jsonText(attached)); return }
            emit("attached to the Incus cluster at \(attached.endpoint) (certificate sha256 \(attached.fingerprint)); members: \(attached.members.joined(separator: ", "))\n")
        }
    }
}
