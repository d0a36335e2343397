import Dispatch
import FoundationEssentials
import Glibc
import ProvisionerAPI

/// Builds the controller from options and runs the chosen mode; `main.swift` and tests call it.
public enum NodeControllerApp {
    /// Exit status for a configuration that cannot work (EX_CONFIG); the unit does not restart on it.
    public static let exitConfig: Int32 = 78

    /// Everything a run needs, resolved once at startup.
    public struct Built: Sendable {
        public var settings: ControllerSettings
        public var identity: NodeIdentity
        public var hypervisor: any Hypervisor
    }

    /// What `--report` prints.
    public struct Report: Codable, Sendable, Equatable {
        public var identity: NodeIdentity
        public var server: String?
        public var image: String?
        public var libvirtURI: String
        public var capacity: NodeCapacity
        public var instances: [InstanceStatus]
    }

    /// Reads the kernel command line and config file, resolves the identity, opens the hypervisor.
    public static func build(options: ControllerOptions, host: HostPaths = HostPaths(), log: Log,
                             hypervisor: (any Hypervisor)? = nil) -> Built {
        let cmdlinePath = options.cmdlinePath ?? host.cmdline
        let boot: BootParameters
        do { boot = try BootParameters.load(path: cmdlinePath) } catch {
            log.warning("\(error)")
            boot = BootParameters(commandLine: KernelCommandLine(""))
        }
        let config = ConfigFile.load(path: options.configPath)
        let settings = ControllerSettings(options: options, boot: boot, config: config)
        for w in settings.warnings { log.warning(w) }
        let resolved = IdentityResolver.resolve(settings: settings, host: host)
        for w in resolved.warnings { log.warning(w) }
        let id = resolved.identity
        log.info("identity: mac \(id.mac ?? "unknown"), interface \(id.interface ?? "none"), ip \(id.ip ?? "none"), hostname \(id.hostname) (rule: \(id.rule))")
        let hv = hypervisor ?? LibvirtHypervisor(
            configuration: .init(uri: settings.libvirtURI, scratchDir: settings.scratchDir, consoleLogDir: settings.consoleLogDir, host: host),
            log: log)
        return Built(settings: settings, identity: id, hypervisor: hv)
    }

    /// Runs the mode of `options`; returns the exit status.
    public static func main(arguments: [String], transport: (any HTTPTransport)? = nil, log: Log = .standardError,
                            output: @Sendable (String) -> Void = { print($0) }) async -> Int32 {
        let options: ControllerOptions
        do { options = try ControllerOptions.parse(arguments) } catch {
            log.error("\(error)")
            return 64
        }
        switch options.mode {
        case .help:
            output(ControllerOptions.usage)
            return 0
        case .version:
            output("node-controller \(NodeControllerKit.version)")
            return 0
        case .report:
            let built = build(options: options, log: log)
            let report = Report(identity: built.identity, server: built.settings.server?.absoluteString, image: built.settings.image,
                                libvirtURI: built.settings.libvirtURI, capacity: built.hypervisor.capacity(),
                                instances: (try? built.hypervisor.instances()) ?? [])
            output(json(report))
            return 0
        case .run, .once:
            let built = build(options: options, log: log)
            let controller: NodeController
            do { controller = try makeController(built, transport: transport ?? SocketHTTPTransport(caPin: built.settings.caPin), log: log) } catch {
                log.error("\(error)")
                return exitConfig
            }
            if options.mode == .once {
                guard let capacity = await controller.runOnce() else { return 1 }
                output(json(capacity))
                return 0
            }
            await controller.run()
            return 0
        }
    }

    /// - Throws: `ControllerError` when the server or boot MAC is missing (a
    ///   missing boot credential is asked of the server).
    public static func makeController(_ built: Built, transport: any HTTPTransport, log: Log) throws -> NodeController {
        let s = built.settings
        guard let server = s.server else {
            throw ControllerError("no server: boot with provisioner.server=URL, set server= in \(ConfigFile.defaultPath), or pass --server")
        }
        guard let mac = built.identity.mac else {
            throw ControllerError("no boot MAC: no BOOTIF= on the kernel command line and no network interface with a MAC")
        }
        if server.scheme?.lowercased() == "https" && s.caPin == nil {
            throw ControllerError("server \(server.absoluteString) is https but no site CA fingerprint is set: boot with provisioner.ca=sha256:HEX, set ca= in \(ConfigFile.defaultPath), or pass --ca")
        }
        let tpm: TPM2ToolsSigner? = s.tpm.map { TPM2ToolsSigner(tcti: $0) } ?? (TPM2ToolsSigner.present() ? TPM2ToolsSigner() : nil)
        log.info(tpm.map { "TPM: each enrollment proves the key it keeps (\($0.tcti ?? "/dev/tpmrm0"))" } ?? "TPM: none, enrolling without a proof")
        // The site's Incus cluster is joined through the node's own incusd, when the image has it.
        let incusSocket = s.incusSocket ?? (FileManager.default.fileExists(atPath: "/usr/libexec/incus/incusd") ? IncusJoiner.defaultSocket : nil)
        if let incusSocket { log.info("cloud: joins the site's Incus cluster through incusd at \(incusSocket) when the server says so") }
        // No boot credential in the boot files: the controller asks serve for one.
        log.info("server \(server.absoluteString) (from \(s.sources["server"] ?? "?"))"
                 + (s.caPin.map { ", site CA \($0) (from \(s.sources["ca"] ?? "?"))" } ?? "") + ", libvirt \(s.libvirtURI), boot credential "
                 + (s.token != nil ? "from the \(s.sources["token"] ?? "?")" : "to ask the server for"))
        return NodeController(
            client: ServerClient(server: server, transport: transport), hypervisor: built.hypervisor,
            enrollment: .init(mac: mac, hostname: built.identity.hostname, ip: built.identity.ip ?? "", token: s.token, image: s.image),
            log: log, rename: { name in name.withCString { sethostname($0, strlen($0)) } == 0 },
            // Only where systemd is PID 1 does it know the boot's timestamps.
            bootTimings: FileManager.default.fileExists(atPath: "/run/systemd/system") ? BootTimingsProbe() : nil,
            platform: HostProbe().platform(),
            tpm: tpm, cloud: incusSocket.map { IncusJoiner(socket: $0) })
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Exits 0 on SIGTERM and SIGINT (instances live on in libvirtd).
    public static func installSignalHandlers(log: Log) {
        SignalHandlers.install(log: log)
    }
}

/// Keeps the dispatch signal sources alive for the life of the process.
private enum SignalHandlers {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install(log: Log) {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                log.info("stopping on \(sig == SIGTERM ? "SIGTERM" : "SIGINT")")
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
    }
}
