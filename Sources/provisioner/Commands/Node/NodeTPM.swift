import ArgumentParser
import ProvisionerCore
import ProvisionerSite

extension Provisioner.Node {
    /// `provisioner node tpm NAME [--accept | --clear]`: a node's TPM binding.
    struct TPM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tpm",
            abstract: "Show, accept or clear the TPM key a node is bound to.",
            discussion: """
                A node whose TPM proves a key at enrollment is bound to it; from then on an enrollment \
                without that key is refused and logged (a different key is kept as waiting).
                  provisioner node tpm n001             # the bound key and a waiting one
                  provisioner node tpm n001 --accept    # bind to the waiting key (a new TPM, a cleared one)
                  provisioner node tpm n001 --clear     # unbind: the next key proved is bound
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Hostname or MAC address of the node.") var key: String
        @Flag(help: "Bind the node to the key its last refused enrollment brought.") var accept = false
        @Flag(help: "Unbind the node from its TPM key.") var clear = false

        func run() throws {
            if accept && clear { throw ProvisionerCore.ValidationError(field: "options", value: "--accept --clear", reason: "--accept and --clear exclude each other") }
            let site = global.site
            if accept {
                let record = try site.acceptTPMKey(key)
                emit(output.json ? try jsonText(record) : "\(key): bound to TPM key \(record.fingerprint)\n")
                return
            }
            if clear {
                let node = try site.clearTPMKey(key)
                emit(output.json ? try jsonText(["node": node.hostname.value]) : "\(node.hostname): TPM binding cleared\n")
                return
            }
            let (node, binding) = try site.tpmBinding(key)
            if output.json {
                emit(try jsonText(binding))
                return
            }
            guard let binding else {
                emit("\(node.hostname): not bound to a TPM key (its first enrollment that proves one binds it)\n")
                return
            }
            var text = "\(node.hostname): bound to TPM key \(binding.fingerprint) since \(binding.pinnedAt)\n"
            if let pending = binding.pending {
                text += "  refused at \(binding.pendingAt ?? "?"): an enrollment with TPM key \(pending) (`node tpm \(node.hostname) --accept` binds it)\n"
            }
            emit(text)
        }
    }
}
