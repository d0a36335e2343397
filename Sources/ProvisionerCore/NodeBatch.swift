/// Nodes to add as an operator names them: one hostname or a hostlist
/// (`n[001-100]`), their MACs in order, and the first of sequential
/// addresses. `node add`, `node import` and the API's `POST /api/v1/nodes`
/// all turn into one of these.
public struct NodeBatch: Sendable, Equatable {
    /// A hostname or a hostlist expression.
    public var name: String
    /// MACs in hostlist order: none (the nodes wait for discovery) or one per node.
    public var macs: [MACAddress]
    /// Where `macs` came from, for errors ("macs.txt", "--mac").
    public var macSource: String
    /// The address of the first node; the others follow it. nil: next free ones.
    public var firstIP: String?
    public var profile: String?
    /// Where the batch came from, for errors ("node 3").
    public var location: String?

    public init(name: String, macs: [MACAddress] = [], macSource: String = "mac", firstIP: String? = nil,
                profile: String? = nil, location: String? = nil) {
        self.name = name
        self.macs = macs
        self.macSource = macSource
        self.firstIP = firstIP
        self.profile = profile
        self.location = location
    }

    /// The node specs of the batch, checked against the site config.
    /// - Throws: `ValidationError` for a bad name, address or MAC count;
    ///   `ConflictError` for a profile the site does not have.
    public func specs(config: SiteConfig) throws -> [NodeSpec] {
        do {
            return try makeSpecs(config: config)
        } catch let e as ValidationError {
            throw location.map { e.at($0) } ?? e
        }
    }

    func makeSpecs(config: SiteConfig) throws -> [NodeSpec] {
        let names = Hostlist.isExpression(name) ? try Hostlist.expand(name) : [try Hostname(parsing: name)]
        let profileName = try profile.map { p throws(ValidationError) in try ProfileName(parsing: p) }
        if let p = profileName, config.profile(p) == nil {
            throw ConflictError("unknown profile \(quoted(p.value)) (not in the site config)", location: location)
        }
        if !macs.isEmpty && macs.count != names.count {
            let reason = macs.count == 1 ? "one MAC address for \(names.count) nodes; give a hostlist one MAC per node (--macs FILE)"
                : "holds \(macs.count) MAC addresses for \(names.count) nodes"
            throw ValidationError(field: "MAC list", value: macSource, reason: reason)
        }
        var first: IPv4Address?
        if let firstIP {
            let parsed = try IPv4Address(parsing: firstIP)
            try config.checkStaticAddress(parsed, given: firstIP)
            first = parsed
        }
        var specs: [NodeSpec] = []
        specs.reserveCapacity(names.count)
        for (i, host) in names.enumerated() {
            var address: IPv4Address?
            if let first, let firstIP {
                guard let next = first.advanced(by: i) else {
                    throw ValidationError(field: "IP address", value: firstIP, reason: "\(names.count) sequential addresses run past 255.255.255.255")
                }
                if let problem = config.staticAddressProblem(next) {
                    throw ValidationError(field: "IP address", value: firstIP, reason: "address \(next) for \(host) is \(problem)")
                }
                address = next
            }
            specs.append(NodeSpec(hostname: host, mac: macs.isEmpty ? nil : macs[i], ip: address, profile: profileName, location: location))
        }
        try NodeImport.checkUnique(specs)
        return specs
    }

    /// A MAC list: one per line; blank lines and `#` comments are skipped.
    /// - Throws: `ValidationError` at the line of a bad MAC, `ConflictError` at a repeated one.
    public static func parseMACList(_ text: String, source: String) throws -> [MACAddress] {
        var out: [MACAddress] = []
        var seen: [MACAddress: Int] = [:]
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var t = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            while let f = t.first, f == " " || f == "\t" || f == "\r" { t = t.dropFirst() }
            while let l = t.last, l == " " || l == "\t" || l == "\r" { t = t.dropLast() }
            if t.isEmpty { continue }
            let mac: MACAddress
            do { mac = try MACAddress(parsing: String(t)) } catch { throw error.at("\(source) line \(i + 1)") }
            if let first = seen.updateValue(i + 1, forKey: mac) {
                throw ConflictError(field: "MAC address", value: mac.description, holder: nil,
                                    "duplicate MAC address \(mac) (also on line \(first))", location: "\(source) line \(i + 1)")
            }
            out.append(mac)
        }
        return out
    }
}

extension Hostlist {
    /// Node keys as an operator gives them (hostnames, MACs, hostlists), with
    /// every hostlist expanded in place.
    /// - Throws: `ValidationError` for a malformed hostlist.
    public static func expandKeys(_ keys: [String]) throws(ValidationError) -> [String] {
        var out: [String] = []
        for key in keys {
            if isExpression(key) { out += try expand(key).map(\.value) } else { out.append(key) }
        }
        return out
    }
}
