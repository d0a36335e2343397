import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices
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
        @Option(name: .long, help: ArgumentHelp("Seconds to wait until it enrolls or is queued (0: do not wait).", valueName: "S")) var timeout: Double = 600

        func run() throws {
            let lab = ProvisionerServices.Lab(home: global.homeDir)
            guard lab.isUp(), var state = lab.state() else { throw CommandError("no lab is up in \(global.homeDir)") }
            let registry = try global.openRegistry()
            let index = state.nodes.count
            let address = try mac.map { try MACAddress(parsing: $0) } ?? MACAddress(parsing: ProvisionerServices.Lab.mac(0x100 + index))
            if let holder = try registry.node(mac: address) {
                throw ConflictError("MAC address \(address) is already registered to \(holder.hostname): plug in a new machine")
            }
            if state.nodes.contains(where: { $0.mac == address.description }) {
                throw ConflictError("MAC address \(address) is already plugged into this lab")
            }
            let name = "plug\(state.nodes.filter { $0.hostname.hasPrefix("plug") }.count + 1)"
            let tap = "labtap\(index)"
            try lab.addTap(tap)
            let log = "\(lab.dir)/\(name).serial.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let argv = lab.qemuArgv(mac: address.description, tap: tap, serialLog: log, memoryMiB: memory, cpus: cpus, name: name)
            let pid = try lab.spawnInNamespace(argv, log: "\(lab.dir)/\(name).qemu.log")
            state.nodes.append(.init(hostname: name, mac: address.description, tap: tap, pid: pid, serialLog: log))
            try lab.save(state)
            say("plugged \(name) (\(address)) into \(ProvisionerServices.Lab.bridge); QEMU pid \(pid), serial log \(log)")
            guard timeout > 0 else { return }

            let autoDiscovery = try global.loadConfig().discovery == .auto
            let started = Date()
            var named: String?
            var outcome = ""
            let done = waitUntil(timeout) {
                if let node = try? registry.node(mac: address) {
                    if named == nil {
                        named = node.hostname.value
                        say(String(format: "%@ is %@ (%@) (+%.0f s)", name, node.hostname.value, node.ip.description, Date().timeIntervalSince(started)))
                    }
                    if (try? registry.status(node.hostname.value))?.state == .ready {
                        outcome = String(format: "%@ (%@) joined the cluster as %@ (%@) in %.0f s\n", name, address.description,
                                         node.hostname.value, node.ip.description, Date().timeIntervalSince(started))
                        return true
                    }
                } else if ((try? registry.discovered()) ?? []).contains(where: { $0.mac == address.description }),
                          !(autoDiscovery && ((try? registry.nodes()) ?? []).contains { $0.mac == nil }) {
                    // Queued for good: discovery is manual, or no node waits for a MAC.
                    outcome = "\(name) (\(address)) waits in discovery: `provisioner node accept \(address) --hostname NAME --home \(global.homeDir)`\n"
                    return true
                }
                return false
            }
            guard done else {
                throw CommandError("\(name) (\(address)) neither enrolled nor was queued within \(Int(timeout)) s; serial log (tail):\n" + tail(log))
            }
            emit(outcome)
        }
    }
}
