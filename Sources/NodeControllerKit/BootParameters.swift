import FoundationEssentials
import Glibc

/// What the node controller reads from the kernel command line.
///
/// `BOOTIF=01-aa-bb-cc-dd-ee-ff` (pxelinux IPAPPEND 2, or iPXE), `provisioner.server=URL`,
/// `provisioner.ca=sha256:HEX` (the site CA the server's certificate chains to),
/// `provisioner.token=TOKEN`, `provisioner.image=IMAGE/GEN`. A bad value is dropped with a
/// warning, never fatal: the config file or options may still supply it.
public struct BootParameters: Sendable, Equatable {
    public var bootMAC: String?
    public var server: URL?
    public var caPin: CAPin?
    public var token: String?
    public var image: String?
    /// The `ip=` device field (`ip=client:server:gw:mask:host:DEVICE:…`), when set.
    public var ipDevice: String?
    /// One line per dropped value.
    public var warnings: [String] = []

    public init(commandLine: KernelCommandLine) {
        if let raw = commandLine.value("BOOTIF") {
            do { bootMAC = try MACText.fromBOOTIF(raw) } catch { warnings.append("kernel command line: \(error)") }
        }
        if let raw = commandLine.value("provisioner.server") {
            do { server = try Self.serverURL(raw) } catch { warnings.append("kernel command line: \(error)") }
        }
        if let raw = commandLine.value("provisioner.ca") {
            do { caPin = try CAPin(parsing: raw) } catch { warnings.append("kernel command line: \(error)") }
        }
        token = Self.word("provisioner.token", commandLine.value("provisioner.token"), &warnings)
        image = Self.word("provisioner.image", commandLine.value("provisioner.image"), &warnings)
        if let ip = commandLine.value("ip") {
            let fields = ip.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 5, !fields[5].isEmpty { ipDevice = String(fields[5]) }
        }
    }

    /// Reads and parses a kernel command line file (`/proc/cmdline`).
    /// - Throws: `ControllerError` when the file cannot be read.
    public static func load(path: String) throws -> BootParameters {
        guard let text = readTextFile(path) else { throw ControllerError("reading kernel command line \(path): \(String(cString: strerror(errno)))") }
        return BootParameters(commandLine: KernelCommandLine(text))
    }

    /// An http(s) URL with a host.
    /// - Throws: `ControllerError` naming the value.
    public static func serverURL(_ text: String) throws -> URL {
        guard !text.isEmpty else { throw ControllerError("empty server URL") }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else { throw ControllerError("invalid server URL \"\(text)\" (expected https://HOST[:PORT] or http://HOST[:PORT])") }
        return url
    }

    static func word(_ key: String, _ value: String?, _ warnings: inout [String]) -> String? {
        guard let value else { return nil }
        if value.isEmpty {
            warnings.append("kernel command line: \(key)= is empty")
            return nil
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) {
            warnings.append("kernel command line: \(key)=\"\(value)\" contains a space or control character")
            return nil
        }
        return value
    }
}
