import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerLab
import ProvisionerStore

extension Provisioner.Lab {
    /// `provisioner lab plug`: a new diskless machine, nobody registered, plugged into the lab network.
    struct Plug: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plug",
            abstract: "Plug a new diskless machine (a MAC nobody registered) into the lab network and power it on.",
            discussion: """
                It PXE-boots like any unknown machine. With discovery auto (`lab up --spares N`) it \
                takes the first node added without a MAC, boots as that node and enrolls; with \
                discovery manual it waits in `provisioner node discovered`. Waits for either and \
                says which; `lab down` stops it with the rest.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Its MAC address (default: the next free lab MAC).") var mac: String?
        @Option(name: .long, help: ArgumentHelp("Memory of the machine.", valueName: "MiB")) var memory: Int = 1024
        @Option(name: .long, help: "vCPUs of the machine.") var cpus: Int = 1
        @Option(name: .long, help: ArgumentHelp("Its firmware: bios, uefi, uefi-http or secureboot.", valueName: "FIRMWARE"))
        var firmware: String = "bios"
        @Option(name: .long, help: ArgumentHelp("Seconds to wait until it enrolls or is queued (0: do not wait).", valueName: "S")) var timeout: Double = 600

        func run() throws {
            let lab = VirtualLab(home: global.homeDir)
            guard let kind = LabFirmware(rawValue: firmware) else {
                throw ValidationError("--firmware: \(quoted(firmware)) is not one of " + LabFirmware.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let node = try lab.plug(mac: try mac.map { try MACAddress(parsing: $0) }, memoryMiB: memory, cpus: cpus, firmware: kind)
            say("plugged \(node.hostname) (\(node.mac)) into \(VirtualLab.bridge); QEMU pid \(node.pid), serial log \(node.serialLog)")
            guard timeout > 0 else { return }
            let address = try MACAddress(parsing: node.mac)
            let started = Date()
            let outcome = try lab.awaitPlugged(address, timeout: timeout) { host, ip in
                say(String(format: "%@ is %@ (%@) (+%.0f s)", node.hostname, host, ip, Date().timeIntervalSince(started)))
            }
            switch outcome {
            case .joined(let host, let ip):
                emit(String(format: "%@ (%@) joined the cluster as %@ (%@) in %.0f s\n", node.hostname, node.mac, host, ip, Date().timeIntervalSince(started)))
            case .queued:
                emit("\(node.hostname) (\(node.mac)) waits in discovery: `provisioner node accept \(node.mac) --hostname NAME --home \(global.homeDir)`\n")
            case nil:
                throw CommandError("\(node.hostname) (\(node.mac)) neither enrolled nor was queued within \(Int(timeout)) s; serial log (tail):\n"
                                   + VirtualLab.tail(node.serialLog))
            }
        }
    }
}
