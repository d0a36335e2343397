import ProvisionerCore

extension SQLRegistry {
    static var nodeColumns: String { "hostname, mac, ip, profile, state, created_at, updated_at, generation" }

    static func node(_ row: SQLRow) throws -> Node {
        let mac: String? = row[1]
        return Node(
            hostname: try Hostname(parsing: row[0]),
            mac: try mac.map { m throws(ValidationError) in try MACAddress(parsing: m) },
            ip: IPv4Address(UInt32(truncatingIfNeeded: row[2] as Int64)),
            profile: try ProfileName(parsing: row[3]),
            state: NodeState(rawValue: row[4]) ?? .registered,
            createdAt: row[5],
            updatedAt: row[6],
            generation: (row[7] as String?).flatMap { try? GenerationID(parsing: $0) })
    }

    /// Every node, ordered by hostname.
    public func nodes() throws -> [Node] {
        try read { db in
            try Self.allNodes(db)
        }
    }

    /// Every node, by hostname.
    static func allNodes(_ db: any SQLSession) throws -> [Node] {
        try db.rows("SELECT \(nodeColumns) FROM nodes ORDER BY hostname").map(node)
    }

    /// The number of nodes.
    public func count() throws -> Int {
        try read { db in try db.value(Int.self, "SELECT count(*) FROM nodes") ?? 0 }
    }

    /// The node with this hostname or MAC address (any accepted MAC form).
    public func node(_ key: String) throws -> Node? {
        try read { db in try Self.find(db, key) }
    }

    static func find(_ db: any SQLSession, _ key: String) throws -> Node? {
        if let mac = try? MACAddress(parsing: key) {
            if let row = try db.row("SELECT \(nodeColumns) FROM nodes WHERE mac = ?", [mac.description]) {
                return try node(row)
            }
        }
        guard let host = try? Hostname(parsing: key) else { return nil }
        return try db.row("SELECT \(nodeColumns) FROM nodes WHERE hostname = ?", [host.value]).map(node)
    }

    /// Adds nodes in one transaction: all of them or none.
    ///
    /// A spec without an IP gets the next free static address; without a
    /// profile, `default`. A node without a MAC is `discoverable`.
    /// - Throws: `ConflictError` for a hostname, MAC or IP already registered
    ///   (naming the holder), an unknown profile or an exhausted pool;
    ///   `ValidationError` for an IP the site config does not allow.
    /// `beforeCommit` runs inside the transaction with the changes made (e.g. to
    /// write the nodes' boot files); if it throws, nothing is committed.
    @discardableResult
    public func add(_ specs: [NodeSpec], config: SiteConfig, now: String, action: String,
                    beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node] {
        try write { db in
            try Self.syncProfiles(db, config)
            var taken = try Taken(db, specs: specs)
            var allocator: IPAllocator?
            if specs.contains(where: { $0.ip == nil }) {
                // Addresses asked for explicitly anywhere in the batch are never handed out to others.
                // So are the boot servers' own addresses (each server's config knows only its own).
                allocator = try Self.allocator(db, config: config, reserved: specs.compactMap(\.ip) + Array(try Self.bootServerAddresses(db).keys))
            }
            var nodeRows: [[any SQLBindable]] = []
            var auditRows: [[any SQLBindable]] = []
            var registeredMACs: [[any SQLBindable]] = []
            var added: [Node] = []
            added.reserveCapacity(specs.count)
            for spec in specs {
                func conflict(_ message: String) -> ConflictError { ConflictError(message, location: spec.location) }
                if let holder = taken.hostnames[spec.hostname] {
                    throw ConflictError(field: "hostname", value: spec.hostname.value, holder: holder,
                                        "hostname \(spec.hostname) is already registered", location: spec.location)
                }
                if let mac = spec.mac, let holder = taken.macs[mac] {
                    throw ConflictError(field: "MAC address", value: mac.description, holder: holder,
                                        "MAC address \(mac) is already registered to \(holder)", location: spec.location)
                }
                let ip: IPv4Address
                if let wanted = spec.ip {
                    do { try config.checkStaticAddress(wanted) } catch let error as ValidationError { throw spec.location.map { error.at($0) } ?? error }
                    if let server = try Self.bootServerAddresses(db)[wanted] {
                        throw ConflictError(field: "IP address", value: wanted.description, holder: server,
                                            "IP address \(wanted) is the address of boot server \(server)", location: spec.location)
                    }
                    if let holder = taken.ips[wanted] {
                        throw ConflictError(field: "IP address", value: wanted.description, holder: holder,
                                            "IP address \(wanted) is already assigned to \(holder)", location: spec.location)
                    }
                    ip = wanted
                } else {
                    guard let next = allocator?.next() else {
                        throw conflict("no free address left in the static pool of \(config.subnet)")
                    }
                    ip = next
                }
                let profile = spec.profile ?? .default
                guard config.profile(profile) != nil else {
                    throw conflict("unknown profile \(quoted(profile.value)) (not in the site config)")
                }
                let node = Node(hostname: spec.hostname, mac: spec.mac, ip: ip, profile: profile,
                                state: spec.mac == nil ? .discoverable : .registered, createdAt: now, updatedAt: now)
                nodeRows.append([node.hostname.value, node.mac?.description, Int64(node.ip.value), node.profile.value, node.state.rawValue, now, now])
                auditRows.append([now, action, node.hostname.value, node.auditJSON, AuditActor.value])
                taken.hostnames[node.hostname] = node.hostname.value
                if let mac = node.mac {
                    taken.macs[mac] = node.hostname.value
                    // Registered now: no longer waiting in the discovery queue.
                    registeredMACs.append([mac.description])
                }
                taken.ips[ip] = node.hostname.value
                added.append(node)
            }
            // Many rows a statement: one round trip per 500 nodes to a database server, not three per node.
            try Self.insertRows(db, "INSERT INTO nodes (\(Self.nodeColumns.replacingOccurrences(of: ", generation", with: ""))) VALUES", nodeRows)
            try Self.insertRows(db, "INSERT INTO audit (at, action, subject, new, actor) VALUES", auditRows)
            try Self.insertRows(db, "DELETE FROM discovered WHERE mac IN", registeredMACs, inList: true)
            try beforeCommit(added.map { NodeChangeRecord(old: nil, new: $0) })
            return added
        }
    }

    /// Runs `head` with `rows` as its values, up to 500 rows a statement:
    /// `head (?, ?), (?, ?)…`, or with `inList`, `head (?, ?, …)` of one-value rows.
    static func insertRows(_ db: any SQLSession, _ head: String, _ rows: [[any SQLBindable]], inList: Bool = false) throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + 500, rows.count)]
            let tuple = "(" + Array(repeating: "?", count: chunk.first?.count ?? 0).joined(separator: ", ") + ")"
            let values = inList ? "(" + marks(chunk.count) + ")"
                                : Array(repeating: tuple, count: chunk.count).joined(separator: ", ")
            try db.execute(head + " " + values, chunk.flatMap { $0 })
            start += chunk.count
        }
    }

    /// The addresses of the boot servers that reported, with their names.
    static func bootServerAddresses(_ db: any SQLSession) throws -> [IPv4Address: String] {
        var out: [IPv4Address: String] = [:]
        for row in try db.rows("SELECT address, name FROM boot_servers") {
            if let ip = try? IPv4Address(parsing: row[0] as String) { out[ip] = row[1] as String }
        }
        return out
    }

    /// The address allocator for a batch. When the nodes hold every address
    /// the allocator could hand out from the first host up to the highest one
    /// they hold (the usual case after bulk adds), it starts above that, from
    /// one indexed count, instead of loading every address in use.
    static func allocator(_ db: any SQLSession, config: SiteConfig, reserved: [IPv4Address]) throws -> IPAllocator {
        var sql = "SELECT count(*), max(ip) FROM nodes WHERE ip >= ? AND ip <= ? AND ip != ?"
        var args: [any SQLBindable] = [Int64(config.subnet.firstHost.value), Int64(config.subnet.lastHost.value), Int64(config.serverIP.value)]
        if let r = config.dhcpRange {
            sql += " AND ip NOT BETWEEN ? AND ?"
            args += [Int64(r.first.value), Int64(r.last.value)]
        }
        if let row = try db.row(sql, args) {
            let count: Int = row[0]
            let highest: Int64? = row[1]
            if count == 0 { return IPAllocator(config: config, used: reserved) }
            if let highest, count == IPAllocator.allocatableCount(upTo: IPv4Address(UInt32(highest)), config: config) {
                return IPAllocator(config: config, used: reserved, from: IPv4Address(UInt32(highest) + 1))
            }
        }
        let used = try db.values(Int64.self, "SELECT ip FROM nodes").map { IPv4Address(UInt32($0)) }
        return IPAllocator(config: config, used: used + reserved)
    }

    /// Changes one node's hostname, MAC, IP or profile, in one transaction.
    /// - Throws: `ConflictError` when the node does not exist or a new value is
    ///   taken; `ValidationError` for an IP the site config does not allow.
    /// - Returns: the node before and after.
    public func update(_ key: String, _ change: NodeChange, config: SiteConfig, now: String,
                       beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node) {
        try write { db in
            try Self.syncProfiles(db, config)
            guard let old = try Self.find(db, key) else { throw NotFoundError("node", key) }
            var new = old
            func holder(_ column: String, _ value: any SQLBindable) throws -> String? {
                try db.value(String.self, "SELECT hostname FROM nodes WHERE \(column) = ? AND hostname != ?", [value, old.hostname.value])
            }
            if let h = change.hostname, h != old.hostname {
                if let other = try holder("hostname", h.value) {
                    throw ConflictError(field: "hostname", value: h.value, holder: other, "hostname \(h) is already registered")
                }
                new.hostname = h
            }
            if let mac = change.mac, mac != old.mac {
                if let other = try holder("mac", mac.description) {
                    throw ConflictError(field: "MAC address", value: mac.description, holder: other, "MAC address \(mac) is already registered to \(other)")
                }
                new.mac = mac
                if old.state == .discoverable { new.state = .registered }
            }
            if let ip = change.ip, ip != old.ip {
                try config.checkStaticAddress(ip)
                if let server = try Self.bootServerAddresses(db)[ip] {
                    throw ConflictError(field: "IP address", value: ip.description, holder: server, "IP address \(ip) is the address of boot server \(server)")
                }
                if let other = try holder("ip", Int64(ip.value)) {
                    throw ConflictError(field: "IP address", value: ip.description, holder: other, "IP address \(ip) is already assigned to \(other)")
                }
                new.ip = ip
            }
            if let p = change.profile, p != old.profile {
                guard config.profile(p) != nil else { throw ConflictError("unknown profile \(quoted(p.value)) (not in the site config)") }
                new.profile = p
            }
            if let pin = change.pin { new.generation = pin.generation }
            guard new != old else { return (old, new) }
            new.updatedAt = now
            try db.execute("""
                UPDATE nodes SET hostname = ?, mac = ?, ip = ?, profile = ?, state = ?, generation = ?, updated_at = ? WHERE hostname = ?
                """, [new.hostname.value, new.mac?.description, Int64(new.ip.value), new.profile.value, new.state.rawValue,
                                new.generation?.description, now, old.hostname.value])
            try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, 'node.set', ?, ?, ?, ?)",
                           [now, new.hostname.value, old.auditJSON, new.auditJSON, AuditActor.value])
            try beforeCommit([NodeChangeRecord(old: old, new: new)])
            return (old, new)
        }
    }

    /// Gives `mac` to a node added without one, in one transaction, so two
    /// machines discovered at once never get the same node: the node
    /// `hostname`, or (nil) the first waiting node by hostname. The MAC leaves
    /// the discovery queue.
    /// - Throws: `ConflictError` when no node waits, the node has a MAC
    ///   already, or the MAC is registered to another node.
    /// - Returns: the node before and after.
    public func claim(mac: MACAddress, into hostname: Hostname?, now: String,
                      beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> (old: Node, new: Node) {
        try write { db in
            let row = hostname == nil
                ? try db.row("SELECT \(Self.nodeColumns) FROM nodes WHERE mac IS NULL ORDER BY hostname LIMIT 1")
                : try db.row("SELECT \(Self.nodeColumns) FROM nodes WHERE hostname = ?", [hostname?.value])
            guard let row else {
                if let hostname { throw NotFoundError("node", hostname.value) }
                throw ConflictError("no node waits for discovery; give a hostname")
            }
            let old = try Self.node(row)
            guard old.mac == nil else { throw ConflictError("node \(old.hostname) already has a MAC address") }
            if let other = try db.value(String.self, "SELECT hostname FROM nodes WHERE mac = ?", [mac.description]) {
                throw ConflictError(field: "MAC address", value: mac.description, holder: other, "MAC address \(mac) is already registered to \(other)")
            }
            var new = old
            new.mac = mac
            new.state = .registered
            new.updatedAt = now
            try db.execute("UPDATE nodes SET mac = ?, state = ?, updated_at = ? WHERE hostname = ? AND mac IS NULL",
                           [mac.description, new.state.rawValue, now, old.hostname.value])
            try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, 'node.accept', ?, ?, ?, ?)",
                           [now, new.hostname.value, old.auditJSON, new.auditJSON, AuditActor.value])
            try db.execute("DELETE FROM discovered WHERE mac = ?", [mac.description])
            try beforeCommit([NodeChangeRecord(old: old, new: new)])
            return (old, new)
        }
    }

    /// Removes nodes by hostname or MAC, in one transaction: all or none.
    /// - Throws: `ConflictError` naming the first key that matches no node.
    @discardableResult
    public func remove(_ keys: [String], now: String, beforeCommit: ([NodeChangeRecord]) throws -> Void) throws -> [Node] {
        try write { db in
            var removed: [Node] = []
            var seen = Set<Hostname>()
            for key in keys {
                guard let node = try Self.find(db, key) else { throw NotFoundError("node", key) }
                guard seen.insert(node.hostname).inserted else { continue }
                try db.execute("DELETE FROM nodes WHERE hostname = ?", [node.hostname.value])
                try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, 'node.rm', ?, ?, NULL, ?)",
                               [now, node.hostname.value, node.auditJSON, AuditActor.value])
                removed.append(node)
            }
            try beforeCommit(removed.map { NodeChangeRecord(old: $0, new: nil) })
            return removed
        }
    }

    /// Makes the profiles table match the site config (adds and updates; a
    /// profile still used by a node is never dropped).
    static func syncProfiles(_ db: any SQLSession, _ config: SiteConfig) throws {
        let upsert = """
            INSERT INTO profiles (name, image, kernel_args) VALUES (?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET image = excluded.image, kernel_args = excluded.kernel_args
            WHERE profiles.image IS DISTINCT FROM excluded.image OR profiles.kernel_args IS DISTINCT FROM excluded.kernel_args
            """
        for p in config.profiles {
            try db.execute(upsert, [p.name.value, p.image, p.kernelArgs.joined(separator: " ")])
        }
    }
}


/// The hostnames, MACs and IPs already registered that a batch could collide with.
struct Taken {
    var hostnames: [Hostname: String] = [:]
    var macs: [MACAddress: String] = [:]
    var ips: [IPv4Address: String] = [:]

    init(_ db: any SQLSession, specs: [NodeSpec]) throws {
        func record(_ row: SQLRow) throws {
            let host: String = row[0]
            let h = try Hostname(parsing: host)
            hostnames[h] = host
            if let m: String = row[1] { macs[try MACAddress(parsing: m)] = host }
            ips[IPv4Address(UInt32(truncatingIfNeeded: row[2] as Int64))] = host
        }
        if specs.count > 32 {
            for row in try db.rows("SELECT hostname, mac, ip FROM nodes") { try record(row) }
        } else {
            let stmt = "SELECT hostname, mac, ip FROM nodes WHERE hostname = ? OR mac = ? OR ip = ?"
            for s in specs {
                let ip: Int64 = s.ip.map { Int64($0.value) } ?? -1
                for row in try db.rows(stmt, [s.hostname.value, s.mac?.description, ip]) { try record(row) }
            }
        }
    }
}
