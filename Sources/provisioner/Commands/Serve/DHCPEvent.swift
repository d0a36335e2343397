import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerPlatform

extension Provisioner {
    /// `provisioner dhcp-event`: dnsmasq's lease-change script (set up by
    /// serve). It runs as an unprivileged user and reads nothing of the site:
    /// it hands the event to serve over serve's event socket.
    struct DHCPEvent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dhcp-event",
            abstract: "Hand a DHCP answer to serve as a boot phase (run by dnsmasq under serve).",
            shouldDisplay: false
        )

        @Option(help: "serve's event socket") var socket: String
        @Argument var action: String
        @Argument var mac: String
        @Argument var ip: String
        @Argument var hostname: String?

        func run() throws {
            // Only a lease given or seen again is a boot phase; dnsmasq also runs the
            // script for releases, its start and each TFTP transfer (`tftp SIZE ADDR FILE`).
            guard action == "add" || action == "old" else { return }
            let event = DHCPLeaseEvent(action: action, mac: mac, ip: ip,
                                       vendorClass: ProcessInfo.processInfo.environment["DNSMASQ_VENDOR_CLASS"])
            try LocalEventSocket.send(try JSONEncoder().encode(event), to: socket)
        }
    }
}
