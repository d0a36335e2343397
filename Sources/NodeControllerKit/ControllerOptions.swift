import FoundationEssentials

/// The `node-controller` command line.
public struct ControllerOptions: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Enroll and heartbeat until SIGTERM.
        case run
        /// Enroll, one heartbeat, print the capacity JSON, exit 0/1.
        case once
        /// Print identity and capacity JSON and exit; no server needed.
        case report
        case help
        case version
    }

    public var mode: Mode = .run
    public var server: URL?
    public var caPin: CAPin?
    /// tpm2-tools' TPM connection (`-T`), for a TPM other than /dev/tpmrm0 (an emulator).
    public var tpm: String?
    /// incusd's socket on the node, for joining the site's Incus cluster.
    public var incusSocket: String?
    public var token: String?
    public var cmdlinePath: String?
    public var configPath = ConfigFile.defaultPath
    public var libvirtURI: String?
    public var scratchDir: String?

    public init() {}

    public static let usage = """
        usage: node-controller [--server URL] [--ca sha256:HEX] [--token TOKEN] [--cmdline PATH] [--config PATH]
                               [--libvirt-uri URI] [--scratch DIR] [--tpm TCTI] [--incus-socket PATH] [--once | --report]

        Enrolls this node with `provisioner serve` and reports its capacity and instances.
        Settings come from the options, then the kernel command line (BOOTIF=,
        provisioner.server=, provisioner.ca=, provisioner.token=, provisioner.image=),
        then the config file. The node API is HTTPS: the server's certificate must
        chain to the site CA whose SHA-256 is given. The token is the node's
        single-use boot credential; without one (no boot file carries one), or
        once it is used or refused, the server is asked for a new one.

          --server URL       node API base URL, e.g. https://10.0.0.1:8443
          --ca sha256:HEX    the site CA's certificate fingerprint
          --token TOKEN      single-use boot credential
          --cmdline PATH     kernel command line to read (default /proc/cmdline)
          --config PATH      config file (default \(ConfigFile.defaultPath))
          --libvirt-uri URI  libvirt connection (default \(ControllerSettings.defaultLibvirtURI))
          --tpm TCTI         prove the TPM key through this connection of tpm2-tools
                             (default: /dev/tpmrm0 when the node has one)
          --incus-socket PATH  the node's incusd, which joins the site's Incus cluster
                             (default: /var/lib/incus/unix.socket when there is one)
          --scratch DIR      directory measured for instance disk space
                             (default /var/lib/libvirt/images, else /)
          --once             enroll, send one heartbeat, print the capacity JSON, exit 0 or 1
          --report           print identity and capacity JSON and exit (no server needed)
          --version, --help
        """

    /// - Parameter arguments: without the program name.
    /// - Throws: `ControllerError` naming the bad option or value.
    public static func parse(_ arguments: [String]) throws -> ControllerOptions {
        var o = ControllerOptions()
        var rest = arguments[...]
        func value(_ option: String, inline: String?) throws -> String {
            if let inline { return inline }
            guard let v = rest.popFirst(), !v.hasPrefix("--") else { throw ControllerError("option \(option) needs a value") }
            return v
        }
        while let arg = rest.popFirst() {
            var name = arg
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            switch name {
            case "--server":
                let raw = try value(name, inline: inline)
                do { o.server = try BootParameters.serverURL(raw) } catch { throw ControllerError("--server: \(error)") }
            case "--ca":
                let raw = try value(name, inline: inline)
                do { o.caPin = try CAPin(parsing: raw) } catch { throw ControllerError("--ca: \(error)") }
            case "--token":
                let t = try value(name, inline: inline)
                guard !t.isEmpty else { throw ControllerError("--token: empty token") }
                o.token = t
            case "--cmdline": o.cmdlinePath = try value(name, inline: inline)
            case "--config": o.configPath = try value(name, inline: inline)
            case "--libvirt-uri": o.libvirtURI = try value(name, inline: inline)
            case "--scratch": o.scratchDir = try value(name, inline: inline)
            case "--tpm": o.tpm = try value(name, inline: inline)
            case "--incus-socket": o.incusSocket = try value(name, inline: inline)
            case "--once", "--report", "--help", "-h", "--version":
                guard inline == nil else { throw ControllerError("option \(name) takes no value") }
                let mode: Mode = switch name {
                case "--once": .once
                case "--report": .report
                case "--version": .version
                default: .help
                }
                if o.mode != .run && o.mode != mode && mode != .help {
                    throw ControllerError("options --once and --report exclude each other")
                }
                if o.mode != .help { o.mode = mode }
            default:
                throw ControllerError("unknown option \"\(arg)\" (see --help)")
            }
        }
        return o
    }
}
