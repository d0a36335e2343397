/// Reads a node CSV (`mac,hostname,ip,profile`; ip and profile optional) into
/// validated specs, checked against the site config and against itself.
public enum NodeImport {
    public static let columns = ["mac", "hostname", "ip", "profile"]

    /// - Throws: `ValidationError` or `ConflictError` naming the line and field.
    public static func parse(csv text: String, config: SiteConfig) throws -> [NodeSpec] {
        let records = try CSV.parse(text)
        guard let header = records.first else {
            throw ValidationError(field: "CSV", value: "", reason: "empty file; expected a header mac,hostname,ip,profile")
        }
        var index: [String: Int] = [:]
        for (i, raw) in header.fields.enumerated() {
            let name = raw.trimmingSpaces().lowercased()
            guard columns.contains(name) else {
                throw ValidationError(field: "CSV column", value: raw, reason: "expected columns mac, hostname, ip, profile", location: "line \(header.line)")
            }
            guard index[name] == nil else {
                throw ValidationError(field: "CSV column", value: raw, reason: "repeated", location: "line \(header.line)")
            }
            index[name] = i
        }
        guard let macCol = index["mac"], let hostCol = index["hostname"] else {
            throw ValidationError(field: "CSV header", value: header.fields.joined(separator: ","), reason: "needs at least mac and hostname", location: "line \(header.line)")
        }
        let ipCol = index["ip"], profileCol = index["profile"]

        var specs: [NodeSpec] = []
        specs.reserveCapacity(records.count - 1)
        var seenMAC: [MACAddress: Int] = [:], seenHost: [Hostname: Int] = [:], seenIP: [IPv4Address: Int] = [:]
        for record in records.dropFirst() {
            let loc = "line \(record.line)"
            guard record.fields.count == header.fields.count else {
                throw ValidationError(field: "CSV row", value: record.fields.joined(separator: ","), reason: "has \(record.fields.count) fields, the header has \(header.fields.count)", location: loc)
            }
            func field(_ col: Int?) -> String? {
                guard let col else { return nil }
                let v = record.fields[col].trimmingSpaces()
                return v.isEmpty ? nil : v
            }
            let mac: MACAddress, host: Hostname
            var ip: IPv4Address?, profile: ProfileName?
            do {
                mac = try MACAddress(parsing: record.fields[macCol].trimmingSpaces())
                host = try Hostname(parsing: record.fields[hostCol].trimmingSpaces())
                if let t = field(ipCol) {
                    let parsed = try IPv4Address(parsing: t)
                    try config.checkStaticAddress(parsed, given: t)
                    ip = parsed
                }
                if let t = field(profileCol) {
                    let p = try ProfileName(parsing: t)
                    guard config.profile(p) != nil else {
                        throw ConflictError("unknown profile \(quoted(t)) (not in the site config)", location: loc)
                    }
                    profile = p
                }
            } catch let e as ValidationError {
                throw e.at(loc)
            }
            if let first = seenMAC.updateValue(record.line, forKey: mac) {
                throw ConflictError("duplicate MAC address \(mac) (also on line \(first))", location: loc)
            }
            if let first = seenHost.updateValue(record.line, forKey: host) {
                throw ConflictError("duplicate hostname \(host) (also on line \(first))", location: loc)
            }
            if let ip, let first = seenIP.updateValue(record.line, forKey: ip) {
                throw ConflictError("duplicate IP address \(ip) (also on line \(first))", location: loc)
            }
            specs.append(NodeSpec(hostname: host, mac: mac, ip: ip, profile: profile, location: loc))
        }
        return specs
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
