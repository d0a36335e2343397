import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerStore

extension Provisioner {
    /// `provisioner dhcp-event`: dnsmasq's lease-change script (set up by serve).
    struct DHCPEvent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dhcp-event",
            abstract: "Record a DHCP answer as a boot phase (run by dnsmasq under serve).",
            shouldDisplay: false
        )

        @OptionGroup var global: GlobalOptions
        @Argument var action: String
        @Argument var mac: String
        @Argument var ip: String
        @Argument var hostname: String?

        func run() throws {
            // dnsmasq passes add/old/del; "old" without a vendor class is its start-up replay of the lease file.
            let env = ProcessInfo.processInfo.environment
            guard action == "add" || action == "old", let vendor = env["DNSMASQ_VENDOR_CLASS"], !vendor.isEmpty,
                  let mac = try? MACAddress(parsing: mac) else { return }
            let registry = try global.openRegistry()
            let now = Timestamp.iso(Date())
            if vendor.hasPrefix("PXEClient") {
                // The firmware's DHCP starts a boot; a chain-loaded iPXE asking again does not.
                let s = try registry.status(mac.description)
                let chained = s?.state == .booting && s?.phases["dhcp"] != nil && s?.phases["initrd"] == nil
                try registry.recordBootEvent(mac: mac, ip: ip, phase: chained ? "dhcp-ipxe" : "dhcp", now: now, newBoot: !chained)
            } else {
                try registry.recordBootEvent(mac: mac, ip: ip, phase: "dhcp-initramfs", now: now)
            }
        }
    }
}
