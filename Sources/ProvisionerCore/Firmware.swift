/// Which boot loader a profile's nodes get, per firmware. The firmware is
/// told apart by its DHCP request (client-arch, vendor class); the loader by
/// the profile, through a tag in the node's DHCP host entry.
public enum BootLoader: String, Sendable, CaseIterable, Codable {
    /// BIOS: pxelinux; UEFI and UEFI HTTP Boot: iPXE on the firmware's own NIC driver (`snponly.efi`).
    case auto
    /// iPXE everywhere: `undionly.kpxe` on BIOS, `snponly.efi` on UEFI.
    case ipxe
    /// iPXE with its own NIC drivers on UEFI (`ipxe.efi`): for firmware whose network driver fails under `snponly.efi`.
    case ipxeDrivers = "ipxe-drivers"
    /// The signed chain for Secure Boot: shim (signed by Microsoft) → GRUB
    /// (signed by Debian, its per-MAC `grub.cfg`) → Debian's signed kernel.
    /// BIOS has no Secure Boot: pxelinux.
    case secureboot

    /// The dnsmasq tag a node's host entry sets; nil for `auto` (no tag).
    public var hostTag: String? { self == .auto ? nil : "loader-" + rawValue }

    /// The `tag:` conditions that pick this loader's nodes: its own tag, or for
    /// `auto` the absence of every other loader's.
    var dnsmasqTags: [String] { hostTag.map { ["tag:" + $0] } ?? Self.allCases.compactMap(\.hostTag).map { "tag:!" + $0 } }

    /// The file this loader's nodes get from firmware `path`.
    public func file(for path: FirmwarePath) -> String {
        switch (self, path) {
        case (.auto, .bios), (.secureboot, .bios): "pxelinux.0"
        case (.ipxe, .bios), (.ipxeDrivers, .bios): "undionly.kpxe"
        case (.auto, _), (.ipxe, _): "snponly.efi"
        case (.ipxeDrivers, _): "ipxe.efi"
        case (.secureboot, _): "shimx64.efi"
        }
    }

    /// Whether a node with this loader boots a per-MAC GRUB config.
    public var usesGRUB: Bool { self == .secureboot }
}

/// How a machine's firmware network-boots, from its DHCP request.
public enum FirmwarePath: String, Sendable, CaseIterable, Codable {
    /// Legacy BIOS PXE (client-arch 0).
    case bios
    /// UEFI PXE over TFTP (client-arch 7; 9 is sent by iPXE's EFI build).
    case uefi
    /// UEFI HTTP Boot (client-arch 16, vendor class `HTTPClient`): the loader comes over HTTP, no TFTP.
    case uefiHTTP = "uefi-http"

    /// The firmware path of a DHCP request's vendor class (option 60:
    /// `PXEClient:Arch:00007:…`, `HTTPClient:Arch:00016:…`); nil for
    /// anything that is not firmware (iPXE sends `PXEClient` too, but that is
    /// told apart by its own option; the initramfs sends none or its own).
    public static func of(vendorClass: String) -> FirmwarePath? {
        let http = vendorClass.hasPrefix("HTTPClient")
        guard http || vendorClass.hasPrefix("PXEClient") else { return nil }
        if http { return .uefiHTTP }
        let parts = vendorClass.split(separator: ":")
        guard let i = parts.firstIndex(of: "Arch"), i + 1 < parts.count, let arch = Int(parts[i + 1]) else { return .bios }
        switch arch {
        case 0: return .bios
        case 16: return .uefiHTTP
        default: return .uefi
        }
    }

    /// What dnsmasq's tags for this path are, in a `dhcp-boot` line.
    var dnsmasqTags: [String] {
        switch self {
        case .bios: ["tag:!efi64", "tag:!efihttp"]
        case .uefi: ["tag:efi64"]
        case .uefiHTTP: ["tag:efihttp"]
        }
    }

    /// Whether the loader is fetched over HTTP instead of TFTP.
    public var overHTTP: Bool { self == .uefiHTTP }
}

/// The `dhcp-boot` rules of the dnsmasq config: one per firmware path and
/// loader, each guarded so that exactly one matches a request, whatever the
/// order of the lines (iPXE itself is answered by its own rule).
public struct LoaderRule: Sendable, Equatable {
    public var path: FirmwarePath
    public var loader: BootLoader
    /// `tag:…` conditions, comma-joined.
    public var tags: String
    public var file: String

    /// - Parameter httpURL: serve's base URL (HTTP Boot loaders are under `/loaders/`).
    public static func all(httpURL: String) -> [LoaderRule] {
        var rules: [LoaderRule] = []
        for path in FirmwarePath.allCases {
            for loader in BootLoader.allCases {
                let file = loader.file(for: path)
                rules.append(LoaderRule(path: path, loader: loader, tags: (["tag:!ipxe"] + path.dnsmasqTags + loader.dnsmasqTags).joined(separator: ","),
                                        file: path.overHTTP ? "\(httpURL)/loaders/\(file)" : file))
            }
        }
        return rules
    }
}

/// How a node's current boot began, as the server saw it: the firmware path
/// of its DHCP request and the loader it was handed.
public struct BootPath: Codable, Sendable, Equatable {
    public var firmware: FirmwarePath
    /// The boot file named in the answer (`snponly.efi`, `shimx64.efi`, `pxelinux.0`, …).
    public var loader: String

    public init(firmware: FirmwarePath, loader: String) {
        self.firmware = firmware
        self.loader = loader
    }

    /// The boot path of a firmware DHCP request from a node of a profile with `loader`; nil when the request is not the firmware's.
    public static func of(vendorClass: String?, loader: BootLoader) -> BootPath? {
        guard let path = vendorClass.flatMap(FirmwarePath.of(vendorClass:)) else { return nil }
        return BootPath(firmware: path, loader: loader.file(for: path))
    }

    /// `uefi-http → snponly.efi`.
    public var summary: String { "\(firmware.rawValue) → \(loader)" }
}
