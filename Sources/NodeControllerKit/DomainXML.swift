import FoundationEssentials
import ProvisionerAPI

/// The libvirt domain XML of an instance: direct kernel boot or a disk, a serial console
/// written to a log file, and no network device (instances never touch host networking).
public struct DomainXML: Sendable {
    /// "kvm", "qemu", or what the driver offers (libvirt's test driver: "test").
    public var domainType: String
    public var arch: String
    public var name: String
    public var consoleLog: String

    /// `<name>`: the prefix keeps the controller away from domains it did not create.
    public static func domainName(prefix: String, id: String) -> String { prefix + id }

    /// The console log file of an instance: the id percent-encoded, so no id can leave `directory`.
    public static func consoleLogPath(directory: String, prefix: String, id: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".unicodeScalars)
        let hex = Array("0123456789ABCDEF")
        var encoded = ""
        for byte in id.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, allowed.contains(scalar) { encoded.unicodeScalars.append(scalar) } else {
                encoded += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0f)])
            }
        }
        return directory + "/" + prefix + encoded + ".log"
    }

    /// The document for `spec`, every value escaped.
    public func render(_ spec: InstanceSpec, diskFormat: String = "raw") -> String {
        let e = Self.escape
        let isQEMU = domainType == "kvm" || domainType == "qemu"
        var x = "<domain type='\(e(domainType))'>\n"
        x += "  <name>\(e(name))</name>\n"
        x += "  <description>provisioner instance \(e(spec.id))</description>\n"
        x += "  <memory unit='MiB'>\(spec.memoryMiB)</memory>\n"
        x += "  <vcpu>\(spec.vcpus)</vcpu>\n"
        x += "  <os>\n"
        x += "    <type arch='\(e(arch))'>hvm</type>\n"
        if let kernel = spec.kernel {
            x += "    <kernel>\(e(kernel))</kernel>\n"
            if let initrd = spec.initrd { x += "    <initrd>\(e(initrd))</initrd>\n" }
            if let cmdline = spec.cmdline { x += "    <cmdline>\(e(cmdline))</cmdline>\n" }
        } else {
            x += "    <boot dev='hd'/>\n"
        }
        x += "  </os>\n"
        if isQEMU { x += "  <features><acpi/></features>\n" }
        if domainType == "kvm" { x += "  <cpu mode='host-passthrough'/>\n" }
        x += "  <clock offset='utc'/>\n"
        x += "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
        x += "  <devices>\n"
        if let disk = spec.disk {
            x += "    <disk type='file' device='disk'>\n"
            if isQEMU { x += "      <driver name='qemu' type='\(e(diskFormat))'/>\n" }
            x += "      <source file='\(e(disk))'/>\n"
            x += "      <target dev='vda' bus='virtio'/>\n"
            x += "    </disk>\n"
        }
        x += "    <serial type='file'>\n      <source path='\(e(consoleLog))'/>\n      <target port='0'/>\n    </serial>\n"
        x += "    <console type='file'>\n      <source path='\(e(consoleLog))'/>\n      <target type='serial' port='0'/>\n    </console>\n"
        if isQEMU { x += "    <memballoon model='none'/>\n" }
        x += "  </devices>\n"
        x += "</domain>\n"
        return x
    }

    /// Escapes the five XML specials, for text and for attributes in either quote.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// "qcow2" when the file starts with the qcow magic, else "raw".
    public static func diskFormat(_ path: String) -> String {
        Posix.head(path, count: 4) == [0x51, 0x46, 0x49, 0xFB] ? "qcow2" : "raw"
    }
}
