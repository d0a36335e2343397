import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices
import ProvisionerStore

extension Provisioner.Lab {
    /// `provisioner lab up`.
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "Start a lab: network namespace and bridge, N registered nodes, image, serve, QEMU nodes; wait until they enroll.",
            discussion: """
                Everything runs in one network namespace with no uplink: the LAN bridge \
                (server \(ProvisionerServices.Lab.serverIP)), one tap per node, `provisioner serve` and the QEMU \
                nodes (TCG unless a working KVM is found). Serial logs are kept in DIR/lab/. \
                The image is built (or taken from the cache) when there is no active generation. \
                Stop it all with `provisioner lab down`.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Number of nodes.") var nodes: Int = 2
        @Option(name: .long, help: ArgumentHelp("Memory per node.", valueName: "MiB")) var memory: Int = 1024
        @Option(name: .long, help: "vCPUs per node.") var cpus: Int = 1
        @Option(name: .long, help: ArgumentHelp("Shared cache for image builds.", valueName: "DIR")) var cache: String = "/var/cache/provisioner"
        @Option(name: .long, help: ArgumentHelp("Seconds to wait for every node to enroll.", valueName: "S")) var timeout: Double = 600
        @Option(name: .customLong("node-controller"), help: ArgumentHelp("node-controller binary for the image.", valueName: "FILE")) var nodeController: String?
        @Option(name: .long, help: ArgumentHelp("Nodes spare1..N added without a MAC, with discovery set to auto: a machine plugged in later (`lab plug`) becomes one by itself.", valueName: "N"))
        var spares: Int = 0

        func validate() throws {
            guard (1...50).contains(nodes) else { throw ValidationError("--nodes must be 1 to 50") }
            guard (0...50).contains(spares) else { throw ValidationError("--spares must be 0 to 50") }
        }

        func run() throws {
            let home = global.homeDir
            let lab = ProvisionerServices.Lab(home: home)
            if lab.isUp() {
                emit("the lab in \(home) is already up (namespace \(lab.namespace)); `provisioner lab down --home \(home)` stops it\n")
                return
            }
            guard getuid() == 0 else { throw CommandError("lab up needs root (network namespaces, taps)") }
            for tool in ["qemu-system-x86_64", "ip", "curl"] where ProcessRunner.which(tool) == nil {
                throw CommandError("lab up needs \(tool): run `make deps`")
            }
            try FileSystem.makeDirectory(lab.dir)
            let h = ["--home", home]

            if !FileManager.default.fileExists(atPath: global.configPath) {
                say("initializing the lab site in \(home)")
                try runSelf(["init"] + h + ["--interface", ProvisionerServices.Lab.bridge, "--server-ip", ProvisionerServices.Lab.serverIP,
                                            "--subnet", ProvisionerServices.Lab.subnet, "--dhcp-range", ProvisionerServices.Lab.dhcpRange], step: "init", quiet: true)
                var yaml = try String(contentsOfFile: global.configPath, encoding: .utf8)
                yaml = yaml.replacingOccurrences(of: "cache: \(home)/cache", with: "cache: \(cache)")
                try FileSystem.writeAtomically(yaml, to: global.configPath)
            }
            if spares > 0 {
                let yaml = try String(contentsOfFile: global.configPath, encoding: .utf8)
                // A site from before discovery modes has no discovery section: add one.
                let auto = yaml.contains("\ndiscovery:") ? yaml.replacingOccurrences(of: "discovery:\n  mode: manual", with: "discovery:\n  mode: auto")
                    : yaml + "\ndiscovery:\n  mode: auto\n"
                if auto != yaml {
                    say("discovery: auto (machines plugged in later take spare1..\(spares))")
                    try FileSystem.writeAtomically(auto, to: global.configPath)
                }
            }
            let config = try global.loadConfig()
            let registry = try global.openRegistry()
            for i in 0..<spares where try registry.node("spare\(i + 1)") == nil {
                try runSelf(["node", "add", "spare\(i + 1)", "--no-apply"] + h, step: "node add spare\(i + 1)", quiet: true)
            }
            var labNodes: [(String, String)] = []
            for i in 1...nodes {
                let name = "lab\(i)", mac = ProvisionerServices.Lab.mac(i)
                labNodes.append((name, mac))
                if try registry.node(name) == nil {
                    try runSelf(["node", "add", name, "--mac", mac, "--no-apply"] + h, step: "node add \(name)", quiet: true)
                }
            }
            say("network: namespace \(lab.namespace), bridge \(ProvisionerServices.Lab.bridge) \(ProvisionerServices.Lab.serverIP)/24, \(nodes) taps, no uplink")
            try lab.createNetwork(taps: nodes)

            if ImageStore(config: config, image: config.profile(.default)?.image ?? "default").generations().active == nil {
                say("building the node image (cached base roots make this quick after the first time)")
                var args = ["image", "build"] + h
                if let nodeController { args += ["--node-controller", nodeController] }
                try runSelf(args, step: "image build")
            }
            say("applying the boot configuration")
            try runSelf(["apply"] + h, step: "apply", quiet: true)

            say("starting provisioner serve in \(lab.namespace)")
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            let servePID = try lab.spawnInNamespace([bin, "serve"] + h, log: lab.dir + "/serve.log")
            var state = ProvisionerServices.Lab.State(namespace: lab.namespace, servePID: servePID, nodes: [])
            try lab.save(state)
            let up = waitUntil(60) {
                (try? ProcessRunner.run(ProcessRunner.which("ip") ?? "ip", ["netns", "exec", lab.namespace, "curl", "-sf", "-m", "2",
                                                                             "http://\(config.serverIP):\(config.httpPort)/healthz"]))?.status == 0
            }
            guard up, kill(servePID, 0) == 0 else {
                throw CommandError("serve did not start; see \(lab.dir)/serve.log:\n" + tail(lab.dir + "/serve.log"))
            }

            say("booting \(nodes) diskless node(s) with QEMU (\(ProvisionerServices.Lab.accelerator)); serial logs in \(lab.dir)")
            for (i, (name, mac)) in labNodes.enumerated() {
                let log = "\(lab.dir)/\(name).serial.log"
                FileManager.default.createFile(atPath: log, contents: nil)
                let argv = lab.qemuArgv(mac: mac, tap: "labtap\(i)", serialLog: log, memoryMiB: memory, cpus: cpus, name: name)
                let pid = try lab.spawnInNamespace(argv, log: "\(lab.dir)/\(name).qemu.log")
                state.nodes.append(.init(hostname: name, mac: mac, tap: "labtap\(i)", pid: pid, serialLog: log))
                try lab.save(state)
            }

            let started = Date()
            var reported: [String: Set<String>] = [:]
            let ok = waitUntil(timeout) {
                let statuses = (try? registry.statuses()) ?? []
                for s in statuses where labNodes.contains(where: { $0.0 == s.hostname }) {
                    for p in BootPhase.order where s.phases[p] != nil && !(reported[s.hostname]?.contains(p) ?? false) {
                        reported[s.hostname, default: []].insert(p)
                        say(String(format: "%@: %@ (+%.0f s)", s.hostname, p, Date().timeIntervalSince(started)))
                    }
                }
                for n in state.nodes where kill(n.pid, 0) != 0 { _ = n } // QEMU exits only on poweroff (-no-reboot)
                return labNodes.allSatisfy { n in statuses.first { $0.hostname == n.0 }?.state == .ready }
            }
            guard ok else {
                var msg = "lab: not every node enrolled within \(Int(timeout)) s; the lab stays up for a look (`provisioner lab down` stops it)\n"
                for n in state.nodes { msg += "--- \(n.serialLog) (tail)\n" + tail(n.serialLog) + "\n" }
                msg += "--- serve.log (tail)\n" + tail(lab.dir + "/serve.log")
                throw CommandError(msg)
            }
            say(String(format: "all %d node(s) enrolled in %.0f s", nodes, Date().timeIntervalSince(started)))
            emit(try Provisioner.Cluster.Status.text(clusterReport()))
            emit("\nboot phases (seconds since the previous phase):\n")
            for s in try registry.statuses() where labNodes.contains(where: { $0.0 == s.hostname }) {
                let d = s.phaseDurations().map { String(format: "%@ +%.1f", $0.phase, $0.seconds) }.joined(separator: "  ")
                emit(String(format: "  %@: %@  (total %.1f s)\n", s.hostname, d, s.secondsToEnroll ?? 0))
            }
            emit("""

                status page: ip netns exec \(lab.namespace) curl http://\(config.serverIP):\(config.httpPort)/
                  (or forward it: socat TCP-LISTEN:8080,fork 'EXEC:ip netns exec \(lab.namespace) socat STDIO TCP:\(config.serverIP):\(config.httpPort)')
                cluster:     provisioner cluster status --home \(home)
                stop:        provisioner lab down --home \(home)

                """)
        }

        func clusterReport() throws -> Provisioner.Cluster.Status.Report {
            var status = try Provisioner.Cluster.Status.parse(["--home", global.homeDir])
            status.global = global
            return try status.report()
        }
    }

    /// `provisioner lab down`.
    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the lab: QEMU nodes, serve and its daemons, the namespace.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let lab = ProvisionerServices.Lab(home: global.homeDir)
            guard let state = lab.state() else {
                lab.deleteNetwork()
                emit("no lab recorded in \(global.homeDir)\n")
                return
            }
            for n in state.nodes {
                if ProvisionerServices.Lab.stop(n.pid, grace: 3) { say("stopped \(n.hostname) (pid \(n.pid))") }
            }
            if ProvisionerServices.Lab.stop(state.servePID, grace: 20) { say("stopped serve (pid \(state.servePID)) and its daemons") }
            for pid in lab.namespacePIDs() { ProvisionerServices.Lab.stop(pid, grace: 2) }
            lab.deleteNetwork()
            try? FileManager.default.removeItem(atPath: lab.stateFile)
            say("removed namespace \(state.namespace)")
        }
    }
}

/// Waits until `condition` holds, checking every second.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 1)
    }
    return condition()
}

/// The last lines of a log file.
func tail(_ path: String, lines: Int = 25) -> String {
    let text = String(decoding: FileSystem.read(path) ?? Data(), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}
