import FoundationEssentials

/// The controller's settings, merged: command-line options, then the kernel command line,
/// then the config file. Remembers where each came from for the startup log.
public struct ControllerSettings: Sendable, Equatable {
    public var server: URL?
    /// The site CA an https server must chain to.
    public var caPin: CAPin?
    /// tpm2-tools' connection to the TPM (`--tpm`, `tpm=`); nil: /dev/tpmrm0 when there is one.
    public var tpm: String?
    /// The node's incusd socket (`incus_socket=`); nil: /var/lib/incus/unix.socket when the node has incusd.
    public var incusSocket: String?
    public var token: String?
    public var image: String?
    /// Boot MAC from `BOOTIF=` (or `mac=` in the config file).
    public var bootMAC: String?
    /// An interface named explicitly (`interface=` in the config file).
    public var interface: String?
    /// The `ip=` device of the kernel command line.
    public var ipDevice: String?
    public var libvirtURI: String
    /// Scratch directory for instance disks; nil means libvirt's image directory, else "/".
    public var scratchDir: String?
    public var consoleLogDir: String
    /// Setting name → "option", "kernel command line" or "config file".
    public var sources: [String: String] = [:]
    /// Dropped values and unreadable files, one line each.
    public var warnings: [String] = []

    public static let defaultLibvirtURI = "qemu:///system"
    public static let defaultConsoleLogDir = "/var/log/provisioner/instances"

    public init(options: ControllerOptions, boot: BootParameters, config: ConfigFile) {
        var sources: [String: String] = [:]
        var warnings = boot.warnings + config.warnings
        func pick<T>(_ name: String, _ option: T?, _ kernel: T?, _ file: T?) -> T? {
            if let option { sources[name] = "option"; return option }
            if let kernel { sources[name] = "kernel command line"; return kernel }
            if let file { sources[name] = "config file"; return file }
            return nil
        }
        var fileServer: URL?
        if let raw = config["server"] {
            do { fileServer = try BootParameters.serverURL(raw) } catch { warnings.append("config file: \(error)") }
        }
        var fileCA: CAPin?
        if let raw = config["ca"] {
            do { fileCA = try CAPin(parsing: raw) } catch { warnings.append("config file: \(error)") }
        }
        var fileMAC: String?
        if let raw = config["mac"] {
            do { fileMAC = try MACText.canonical(raw) } catch { warnings.append("config file: \(error)") }
        }
        server = pick("server", options.server, boot.server, fileServer)
        caPin = pick("ca", options.caPin, boot.caPin, fileCA)
        tpm = pick("tpm", options.tpm, nil, config["tpm"])
        incusSocket = pick("incus_socket", options.incusSocket, nil, config["incus_socket"])
        token = pick("token", options.token, boot.token, config["token"])
        image = pick("image", nil, boot.image, config["image"])
        bootMAC = pick("mac", nil, boot.bootMAC, fileMAC)
        interface = pick("interface", nil, nil, config["interface"])
        ipDevice = boot.ipDevice
        libvirtURI = pick("libvirt_uri", options.libvirtURI, nil, config["libvirt_uri"]) ?? Self.defaultLibvirtURI
        scratchDir = pick("scratch", options.scratchDir, nil, config["scratch"])
        consoleLogDir = pick("console_log_dir", nil, nil, config["console_log_dir"]) ?? Self.defaultConsoleLogDir
        self.sources = sources
        self.warnings = warnings
    }
}
