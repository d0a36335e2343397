import ArgumentParser
import Dispatch
import Foundation
import Logging
import ProvisionerCore
import ProvisionerServer
import ProvisionerServices
import ProvisionerStore

extension Provisioner {
    /// `provisioner serve`: the appliance.
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run DHCP/TFTP, the NFS root and HTTP boot as one supervised service.",
            discussion: """
                Starts dnsmasq (restarted if it dies, restarted when its main config \
                changes, host entries picked up without a restart), the NFS server of the \
                images (rpcbind + nfs-ganesha, or the kernel's exports; nfs.server in the \
                config) and the HTTP server: iPXE scripts, kernels and initrds (with Range), \
                the node API, GET /api/v1/nodes, the status page at / and /metrics. \
                SIGTERM or SIGINT stops everything it started. Refuses to start when a \
                port is taken or a tool is missing.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("Address to serve HTTP on (default: server_ip).", valueName: "IP"))
        var listen: String?
        @Option(name: .customLong("heartbeat"), help: ArgumentHelp("Seconds between node heartbeats.", valueName: "S"))
        var heartbeatSeconds: Double = 5
        @Option(name: .customLong("lost-after"), help: ArgumentHelp("Heartbeats missed before a node is lost.", valueName: "N"))
        var lostAfter: Double = 3

        func run() throws {
            let config = try global.loadConfig()
            // Run-time status is written often: commits are not fsync'd one by one (see Registry).
            _ = try global.openRegistry()
            let registry = try SQLiteRegistry(path: global.registryPath, relaxedSync: true)
            let secret = try global.clusterSecret()
            var logger = Logger(label: "provisioner")
            logger.logLevel = .info
            try FileSystem.makeDirectory(config.runDir)
            let script = config.runDir + "/dhcp-event"
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            try FileSystem.writeAtomically("#!/bin/sh\n# dnsmasq's --dhcp-script: boot telemetry into the registry.\nexec \(shellQuote(bin)) dhcp-event --home \(shellQuote(global.homeDir)) \"$@\"\n", to: script, mode: 0o700)
            // Node changes over HTTP write the same files the CLI does; callers need the API token.
            let token = try global.site.apiToken()
            logger.info("write API (POST/PATCH/DELETE /api/v1/nodes, accept): Bearer token in \(global.site.apiTokenPath)")
            let state = ServeState(config: config, registry: registry, secret: secret, heartbeatSeconds: heartbeatSeconds,
                                   lostAfterBeats: lostAfter, logger: logger, applier: try global.applier(config), apiToken: token)
            let runner = ServeRunner(state: state, daemons: DaemonStarter(config: config, dhcpScript: script),
                                     host: listen ?? config.serverIP.description, port: config.httpPort)
            let done = DispatchSemaphore(value: 0)
            let failure = ErrorBox()
            Task {
                do { try await runner.run() } catch { failure.set(error) }
                done.signal()
            }
            done.wait()
            if let error = failure.get() { throw error }
        }
    }
}

/// Carries an error out of a Task.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.withLock { error = e } }
    func get() -> (any Error)? { lock.withLock { error } }
}

func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
