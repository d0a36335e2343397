// The `provisioner` command: wiring of options to the core and the registry.
import ArgumentParser
import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerBMC
import ProvisionerLab
import ProvisionerPlatform
import ProvisionerSite
import ProvisionerStore

@main
struct Provisioner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provisioner",
        abstract: "Provision diskless nodes: registry, boot configs, images, cluster.",
        version: Provisioner.version,
        subcommands: [Init.self, Node.self, Render.self, Apply.self, Image.self, Serve.self, Cluster.self, Instance.self, Lab.self, Registry.self, Token.self, Audit.self, Cloud.self, DHCPEvent.self]
    )

    /// The release, as `--version` prints it and the Debian package's version begins.
    static let version = "0.1.0"

    /// Runs the command; an operator error becomes one line on stderr and the
    /// exit status of its kind (`FailureKind.exitCode`: 2 invalid input,
    /// 3 not found, 4 conflict, 5 busy, 6 unavailable, 1 anything else).
    static func main() async {
        // Changes the CLI makes are the audit log's `cli:USER` (serve sets its own).
        AuditActor.setProcess("cli:" + (ProcessInfo.processInfo.environment["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 }
                                        ?? ProcessInfo.processInfo.userName))
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as OperatorFacingError {
            fail(error.operatorMessage, status: FailureKind(of: error).exitCode)
        } catch {
            exit(withError: error)
        }
    }

    static func fail(_ message: String, status: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("provisioner: error: \(message)\n".utf8))
        Foundation.exit(status)
    }
}

/// An error whose description is meant for the operator as it is.
protocol OperatorFacingError: Error {
    var operatorMessage: String { get }
}

extension OperatorFacingError where Self: CustomStringConvertible {
    var operatorMessage: String { description }
}

extension ProvisionerCore.ValidationError: OperatorFacingError {}
extension ConflictError: OperatorFacingError {}
extension NotFoundError: OperatorFacingError {}
extension BusyError: OperatorFacingError {}
extension LabFailure: OperatorFacingError {}
extension ConfigSyntaxError: OperatorFacingError {}
extension RegistryError: OperatorFacingError {}
extension SystemError: OperatorFacingError {}
extension TemplateError: OperatorFacingError {}
extension PowerFailures: OperatorFacingError {}
extension BMCError: OperatorFacingError {}
extension RolloutFailure: OperatorFacingError {}

/// A failure of the command itself, said plainly ("no config at …").
struct CommandError: OperatorFacingError, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
