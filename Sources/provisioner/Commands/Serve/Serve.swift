import ArgumentParser
import ProvisionerStore
import ProvisionerPlatform
import Foundation
import Logging
import ProvisionerServer

extension Provisioner {
    /// `provisioner serve`: the appliance.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run DHCP/TFTP, the NFS root and HTTP boot as one supervised service.",
            discussion: """
                Starts dnsmasq (restarted if it dies, restarted when its main config \
                changes, host entries picked up without a restart), the NFS server of the \
                images (rpcbind + nfs-ganesha, or the kernel's exports; nfs.server in the \
                config), the HTTP server (http.port: iPXE scripts, kernels and initrds with \
                Range), the node API over HTTPS (http.api_port) and the operator API, the \
                status page at / and /metrics over HTTPS off the node network \
                (http.operator_listen, 127.0.0.1:8444 by default), with the site CA and this \
                server's certificate in <home>/tls/, made on first start. \
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

        func run() async throws {
            // What serve changes by itself (auto-accepted machines) is the audit log's `serve`;
            // a request's token is bound around its handler.
            AuditActor.setProcess("serve")
            var logger = Logger(label: "provisioner")
            logger.logLevel = .info
            let bin = Resources.executablePath
            let runner = try ServeRunner.forSite(global.site, ServeOptions(listen: listen, heartbeatSeconds: heartbeatSeconds,
                                                                          lostAfterBeats: lostAfter, binary: bin), logger: logger)
            try await runner.run()
        }
    }
}
