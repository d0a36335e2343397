import ArgumentParser
import ProvisionerPlatform
import Foundation
import ProvisionerLab

extension Provisioner.Lab {
    /// `provisioner lab up`.
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "Start a lab: network namespace and bridge, N registered nodes, image, serve, QEMU nodes; wait until they enroll.",
            discussion: """
                Everything runs in one network namespace with no uplink: the LAN bridge \
                (server \(VirtualLab.serverIP)), one tap per node, `provisioner serve` and the QEMU \
                nodes (TCG unless a working KVM is found). Serial logs are kept in DIR/lab/. \
                The image is built (or taken from the cache) when there is no active generation. \
                A failed start stops what it started (unless --keep-on-failure). Stop it all with `provisioner lab down`.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Number of nodes.") var nodes: Int = 2
        @Option(name: .long, help: ArgumentHelp("Memory per node.", valueName: "MiB")) var memory: Int = 1024
        @Option(name: .long, help: "vCPUs per node (default: the host's cores shared among the nodes, 1 to 4).") var cpus: Int?
        @Option(name: .long, help: ArgumentHelp("Shared cache for image builds.", valueName: "DIR")) var cache: String = "/var/cache/provisioner"
        @Option(name: .long, help: ArgumentHelp("Seconds to wait for every node to enroll.", valueName: "S")) var timeout: Double = 600
        @Option(name: .customLong("node-controller"), help: ArgumentHelp("node-controller binary for the image.", valueName: "FILE")) var nodeController: String?
        @Option(name: .long, help: ArgumentHelp("Nodes spare1..N added without a MAC, with discovery set to auto: a machine plugged in later (`lab plug`) becomes one by itself.", valueName: "N"))
        var spares: Int = 0
        @Option(name: .long, help: ArgumentHelp("Firmware of the nodes, one per node in order, the last repeating: bios, uefi (UEFI PXE), uefi-http (UEFI HTTP Boot, no TFTP), secureboot (UEFI with Secure Boot on, booting shim → GRUB → the signed kernel).", valueName: "LIST"))
        var firmware: String = "bios"
        @Option(name: .long, help: ArgumentHelp("Root of the nodes, one per node in order, the last repeating: nfs (the image over NFS) or ram (the image fetched into RAM at boot: profile ram, root: ram).", valueName: "LIST"))
        var root: String = "nfs"
        @Option(name: .long, help: ArgumentHelp("Boot servers on the lab's LAN: 1, or 2 (a primary and a secondary sharing a PostgreSQL registry, each with its own dnsmasq, HTTP and NFS; needs --registry for a new lab).", valueName: "N"))
        var servers: Int = 1
        @Option(name: .long, help: ArgumentHelp("A new lab's registry in PostgreSQL (default: SQLite in the lab's home).", valueName: "postgres://USER@HOST/DATABASE"))
        var registry: String?
        @Flag(name: .customLong("keep-on-failure"), help: "When it fails, leave the namespace, serve and the nodes running for a look.")
        var keepOnFailure = false

        func validate() throws {
            guard (1...50).contains(nodes) else { throw ValidationError("--nodes must be 1 to 50") }
            guard (0...50).contains(spares) else { throw ValidationError("--spares must be 0 to 50") }
            guard (1...2).contains(servers) else { throw ValidationError("--servers must be 1 or 2") }
            if let cpus, !(1...64).contains(cpus) { throw ValidationError("--cpus must be 1 to 64") }
            do { _ = try LabFirmware.list(firmware) } catch { throw ValidationError("--firmware: \(error)") }
            do { _ = try LabOptions.roots(root) } catch { throw ValidationError("--root: \(error)") }
        }

        func run() throws {
            let lab = VirtualLab(home: global.homeDir)
            let bin = Resources.executablePath
            let cpus = self.cpus ?? LabOptions.defaultCPUs(nodes: nodes, hostCores: ProcessInfo.processInfo.activeProcessorCount)
            var options = LabOptions(nodes: nodes, spares: spares, memoryMiB: memory, cpus: cpus, cache: cache, timeout: timeout,
                                     nodeController: nodeController, keepOnFailure: keepOnFailure, serveBinary: bin)
            options.firmwares = try LabFirmware.list(firmware)
            options.roots = try LabOptions.roots(root)
            options.servers = servers
            options.registry = registry
            let (statuses, seconds) = try lab.up(options, say: say)
            say(String(format: "all %d node(s) enrolled in %.0f s", nodes, seconds))
            emit(try global.site.clusterReport().text)
            emit("\nboot phases (seconds since the previous phase):\n")
            for s in statuses {
                let d = s.phaseDurations().map { String(format: "%@ +%.1f", $0.phase.rawValue, $0.seconds) }.joined(separator: "  ")
                emit(String(format: "  %@: %@  (total %.1f s)\n", s.hostname, d, s.secondsToEnroll ?? 0))
                if s.platform != nil || s.bootPath != nil {
                    emit("  \(s.hostname) firmware: \([s.platform?.summary, s.bootPath.map { "booted via " + $0.summary }].compactMap { $0 }.joined(separator: "; "))\n")
                }
                if let t = s.bootTimings {
                    emit(String(format: "  %@ as the node saw it: kernel+initramfs %.1f s, userspace to the controller %.1f s\n",
                                s.hostname, t.kernelSeconds ?? 0, t.controllerStartSeconds ?? 0))
                }
            }
            let config = try global.loadConfig()
            let page: (host: String, port: Int) = switch config.operatorListen {
            case .node: (config.serverIP.description, config.apiPort)
            case .address(let a, let p): (a.description, p)
            }
            emit("""

                status page: ip netns exec \(lab.namespace) curl --cacert \(global.homeDir)/tls/ca.pem -H "Authorization: Bearer $(cat \(global.homeDir)/api.token)" https://\(page.host):\(page.port)/
                  (or forward it for a browser, the token as the password: socat TCP-LISTEN:\(page.port),bind=127.0.0.1,fork 'EXEC:ip netns exec \(lab.namespace) socat STDIO TCP:\(page.host):\(page.port)')
                cluster:     provisioner cluster status --home \(global.homeDir)
                stop:        provisioner lab down --home \(global.homeDir)

                """)
        }
    }
}
