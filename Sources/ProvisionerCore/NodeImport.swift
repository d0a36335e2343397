import Foundation

/// Reads node lists into validated specs, checked against the site config and
/// against themselves: a CSV (`mac,hostname,ip,profile`; ip and profile
/// optional) or JSON (an object or a list of objects with those keys; only
/// hostname required; a node without mac waits for discovery).
public enum NodeImport {
    public static let columns = ["mac", "hostname", "ip", "profile"]
    /// Keys of a listed node that an import ignores.
    public static let readOnlyKeys = ["state", "created_at", "updated_at"]

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
            let spec = try self.spec(mac: record.fields[macCol].trimmingSpaces(), hostname: record.fields[hostCol].trimmingSpaces(),
                                     ip: field(ipCol), profile: field(profileCol), config: config, location: loc)
            specs.append(spec)
        }
        try checkUnique(specs)
        return specs
    }

    /// One node from its fields as given (nil: not given; an empty string is invalid).
    /// - Throws: `ValidationError` naming the field and value, or `ConflictError`
    ///   for a profile the site does not have; both placed at `location`.
    public static func spec(mac: String?, hostname: String, ip: String?, profile: String?, config: SiteConfig, location: String?) throws -> NodeSpec {
        do {
            let macAddress = try mac.map { m throws(ValidationError) in try MACAddress(parsing: m) }
            let host = try Hostname(parsing: hostname)
            var address: IPv4Address?
            if let t = ip {
                let parsed = try IPv4Address(parsing: t)
                try config.checkStaticAddress(parsed, given: t)
                address = parsed
            }
            var profileName: ProfileName?
            if let t = profile {
                let p = try ProfileName(parsing: t)
                guard config.profile(p) != nil else {
                    throw ConflictError("unknown profile \(quoted(t)) (not in the site config)", location: location)
                }
                profileName = p
            }
            return NodeSpec(hostname: host, mac: macAddress, ip: address, profile: profileName, location: location)
        } catch let e as ValidationError {
            throw location.map { e.at($0) } ?? e
        }
    }

    /// No MAC, hostname or IP twice in one list.
    /// - Throws: `ConflictError` at the later of the two.
    public static func checkUnique(_ specs: [NodeSpec]) throws {
        var seenMAC: [MACAddress: String] = [:], seenHost: [Hostname: String] = [:], seenIP: [IPv4Address: String] = [:]
        for spec in specs {
            let loc = spec.location ?? "?"
            if let mac = spec.mac, let first = seenMAC.updateValue(loc, forKey: mac) {
                throw ConflictError("duplicate MAC address \(mac) (also on \(first))", location: spec.location)
            }
            if let first = seenHost.updateValue(loc, forKey: spec.hostname) {
                throw ConflictError("duplicate hostname \(spec.hostname) (also on \(first))", location: spec.location)
            }
            if let ip = spec.ip, let first = seenIP.updateValue(loc, forKey: ip) {
                throw ConflictError("duplicate IP address \(ip) (also on \(first))", location: spec.location)
            }
        }
    }

    /// JSON: one node object or a list of them, keys `hostname` (required),
    /// `mac`, `ip`, `profile`, each a string or null. The registry's own keys
    /// of `node list --json` (state, created_at, updated_at) are ignored, so a
    /// list goes back in as it came out; other keys are refused (a misspelt
    /// key must not be dropped silently).
    /// - Throws: `ValidationError` or `ConflictError` naming the node ("node 3") and field.
    public static func parse(json data: [UInt8], config: SiteConfig) throws -> [NodeSpec] {
        let expected = "expected a node object or a list of them, with keys hostname, mac, ip, profile"
        let objects: [Any]
        switch try jsonValue(data, reason: expected) {
        case let list as [Any]: objects = list
        case let object as [String: Any]: objects = [object]
        default: throw ValidationError(field: "JSON", value: String(decoding: data.prefix(60), as: UTF8.self), reason: expected)
        }
        var specs: [NodeSpec] = []
        for (i, item) in objects.enumerated() {
            let loc = objects.count == 1 ? "node" : "node \(i + 1)"
            let fields = try stringFields(item, allowed: columns + readOnlyKeys, location: loc)
            guard let hostname = fields["hostname"] else {
                throw ValidationError(field: "hostname", value: "", reason: "missing", location: loc)
            }
            if Hostlist.isExpression(hostname) {
                // A hostlist: its nodes get sequential addresses from `ip` (or the next free ones).
                var macs: [MACAddress] = []
                if let m = fields["mac"] {
                    do { macs = [try MACAddress(parsing: m)] } catch { throw error.at(loc) }
                }
                specs += try NodeBatch(name: hostname, macs: macs, firstIP: fields["ip"], profile: fields["profile"], location: loc).specs(config: config)
                continue
            }
            specs.append(try spec(mac: fields["mac"], hostname: hostname, ip: fields["ip"], profile: fields["profile"], config: config, location: loc))
        }
        try checkUnique(specs)
        return specs
    }

    /// The string fields of a JSON object given as text (a request body).
    /// - Throws: `ValidationError` for text that is not JSON, and as `stringFields`.
    public static func jsonFields(_ data: [UInt8], allowed: [String], location: String) throws -> [String: String] {
        try stringFields(try jsonValue(data, reason: "not valid JSON"), allowed: allowed, location: location)
    }

    /// Parsed JSON text.
    /// - Throws: `ValidationError` quoting the start of the text, with `reason`.
    static func jsonValue(_ data: [UInt8], reason: String) throws -> Any {
        guard let value = try? JSONSerialization.jsonObject(with: Data(data)) else {
            throw ValidationError(field: "JSON", value: String(decoding: data.prefix(60), as: UTF8.self), reason: reason)
        }
        return value
    }

    /// The string fields of a JSON object; null counts as absent.
    /// - Throws: `ValidationError` for a non-object, an unknown key or a non-string value.
    public static func stringFields(_ item: Any, allowed: [String], location: String) throws -> [String: String] {
        guard let object = item as? [String: Any] else {
            throw ValidationError(field: "JSON", value: "\(item)".prefix(60).description, reason: "expected an object", location: location)
        }
        var out: [String: String] = [:]
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard allowed.contains(key) else {
                throw ValidationError(field: "JSON key", value: key, reason: "unknown; expected \(allowed.joined(separator: ", "))", location: location)
            }
            if value is NSNull { continue }
            guard let text = value as? String else {
                throw ValidationError(field: key, value: "\(value)".prefix(60).description, reason: "expected a string", location: location)
            }
            out[key] = text
        }
        return out
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
