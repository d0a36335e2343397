import ProvisionerAPI

/// Who may take a waiting node by itself (`discovery: auto`): an unknown
/// machine asking for its iPXE script takes a spare slot only when serve's
/// own DHCP leased it the address it asks from, moments ago. A made-up MAC
/// from an address DHCP gave someone else, or from an address DHCP never
/// gave, stays in the discovery queue for the operator.
public enum DiscoveryRules {
    /// Seconds a lease counts as this boot's: from the firmware's (or iPXE's) DHCP to its script request.
    public static let leaseFreshness: Double = 300

    /// The phases that are a DHCP lease.
    public static func isLease(_ phase: BootPhase) -> Bool { phase == .dhcp || phase == .dhcpIPXE || phase == .dhcpInitramfs }

    /// Why the machine may not take a waiting node; nil when it may.
    /// - Parameters:
    ///   - leaseIP: the address serve's DHCP last leased the MAC (nil: none).
    ///   - leaseAge: seconds since that lease.
    ///   - authoritative: serve's dnsmasq leases addresses (proxy DHCP leases none).
    public static func refusal(leaseIP: String?, leaseAge: Double?, clientIP: IPv4Address?, authoritative: Bool) -> String? {
        guard authoritative else {
            return "proxy DHCP: serve sees no leases, so it cannot tell a machine that booted from one that made up a MAC (accept it by hand)"
        }
        guard let leaseIP, let leaseAge else { return "no DHCP lease from this server for it" }
        guard let clientIP, leaseIP == clientIP.description else {
            return "it asks from \(clientIP?.description ?? "?"), but this server's DHCP leased it \(leaseIP)"
        }
        guard leaseAge <= leaseFreshness else { return "its DHCP lease is \(Int(leaseAge)) s old (a boot asks within \(Int(leaseFreshness)) s)" }
        return nil
    }
}
