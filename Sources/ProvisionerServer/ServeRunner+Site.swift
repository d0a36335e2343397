import Foundation
import Logging
import ProvisionerCore
import ProvisionerBoot
import ProvisionerCloud
import ProvisionerPlatform
import ProvisionerSite
import ProvisionerStore

extension ServeRunner {
    /// serve for a site: its config, its registry (commits not fsync'd one by
    /// one: run-time status, see `SQLiteRegistry`), the
    /// write API's token, the apply pipeline, dnsmasq's lease script and the
    /// boot daemons. The `serve` command and the tests build it here.
    /// - Throws: the site's errors (no config, no registry, templates not found).
    public static func forSite(_ site: Site, _ options: ServeOptions, logger: Logger) throws -> ServeRunner {
        var config = try site.loadConfig()
        // The node and operator APIs' HTTPS: the site CA (its fingerprint goes into
        // the boot files) and this boot server's certificate, made on first serve.
        let tls = site.tls
        var addresses = [config.serverIP]
        if case .address(let a, _) = config.operatorListen, a != config.serverIP { addresses.append(a) }
        let made = try tls.ensure(addresses: addresses, name: config.bootServerName?.value ?? Site.machineName())
        if !made.isEmpty { logger.notice("TLS: made the \(made.joined(separator: " and ")) in \(tls.dir); clients trust \(tls.caPath)") }
        if config.siteCA == nil { config.siteCA = tls.caFingerprint() }  // made just now
        // A PostgreSQL registry is connected on first use: a boot server starts, and
        // boots the nodes of its replica, while the database is down.
        let registry = try site.openRegistry(relaxedSync: true, connectLater: true)
        try FileSystem.makeDirectory(config.runDir)
        // dnsmasq's lease script runs as nobody and reads nothing of the site:
        // it hands each DHCP answer to serve on a socket only nobody and root can use.
        let script = config.runDir + "/dhcp-event"
        let events = (path: config.runDir + "/dhcp-event.sock", uid: LocalEventSocket.uid(of: DnsmasqService.runUser) ?? 0)
        try FileSystem.writeAtomically("""
            #!/bin/sh
            # dnsmasq's --dhcp-script (run as \(DnsmasqService.runUser)): boot telemetry, handed to serve.
            exec \(shellQuote(options.binary)) dhcp-event --socket \(shellQuote(events.path)) "$@"

            """, to: script, mode: 0o755)
        // The site's Incus cluster, which enrolling nodes are given a way into.
        var cloud: Result<IncusClient, SystemError>?
        if config.cloud?.engine == .incus {
            // Calls that take longer are answered late and undone (`ServeState.cloudJoin`).
            do { cloud = .success(try site.cloudClient(config, timeoutSeconds: 10)) } catch {
                cloud = .failure(SystemError("\(error)"))
                logger.error("cloud: \(error): nodes enroll but do not join the cluster")
            }
            if case .success(let client) = cloud { logger.info("cloud: enrolling nodes join the Incus cluster at \(client.target)") }
        }
        // The operator API needs a token: the site's own (made here on first serve), or a named one.
        _ = try site.apiToken()
        logger.info("operator API: Bearer token in \(site.apiTokenPath) (every scope), or one from `provisioner token add`")
        let state = ServeState(config: config, registry: registry, heartbeatSeconds: options.heartbeatSeconds,
                               lostAfterBeats: options.lostAfterBeats, logger: logger, applier: try site.applier(config), apiTokenFile: site.apiTokenPath,
                               replicaPath: site.home + "/replica.json", cloud: cloud)
        // Caught up before it answers: a boot server restarted after changes serves them, not its old replica.
        let changed = state.follow()
        state.replica.persist()
        if state.replica.restored && changed > 0 { logger.notice("boot replica: \(changed) nodes changed while serve was stopped") }
        state.reportBootServer()
        return ServeRunner(state: state, daemons: DaemonStarter(config: config, dhcpScript: script),
                           host: options.listen ?? config.serverIP.description, port: config.httpPort, secure: (config.apiPort, tls),
                           events: events)
    }
}

/// A string as one shell word.
func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
