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
            guard let mac = try? MACAddress(parsing: mac) else { return }
            try global.site.recordDHCPEvent(action: action, mac: mac, ip: ip,
                                            vendorClass: ProcessInfo.processInfo.environment["DNSMASQ_VENDOR_CLASS"], now: Timestamp.iso(Date()))
        }
    }
}
