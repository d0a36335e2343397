import Foundation
import GRDB
import Synchronization
import Testing
import TestSupport
import ProvisionerAPI
import ProvisionerCore
@testable import ProvisionerStore

func tempDir() -> String {
    let dir = NSTemporaryDirectory() + "provisioner-store-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func config() throws -> SiteConfig {
    try SiteConfig(yaml: SiteConfig.defaultYAML(SiteDefaults(
        interface: "eth1", serverIP: "10.0.0.1", subnet: "10.0.0.0/24", dhcpRange: "10.0.0.200-10.0.0.250",
        mirror: "http://mirror.example/debian", tftpRoot: "/t", httpRoot: "/h", imagesDir: "/i", home: "/v")))
}

func spec(_ host: String, _ mac: String?, ip: String? = nil) throws -> NodeSpec {
    NodeSpec(hostname: try Hostname(parsing: host), mac: try mac.map { try MACAddress(parsing: $0) }, ip: try ip.map { try IPv4Address(parsing: $0) })
}

@Suite struct RegistryTests {
    let dir = tempDir()

    @Test func schemaIsCurrentWithWALAndForeignKeys() throws {
        let r = try SQLiteRegistry(path: dir + "/r.sqlite")
        let (version, journal, fk) = try r.db.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version"), try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(version == Schema.migrations.count)
        #expect(journal == "wal")
        #expect(fk == 1)
        // Opening again migrates nothing and keeps data.
        try r.add([try spec("a", "02:00:00:00:00:01")], config: try config(), now: "t0")
        #expect(try SQLiteRegistry(path: dir + "/r.sqlite").count() == 1)
    }

    /// How a boot began (from its DHCP request) and the firmware the node reports are kept and read back.
    @Test(arguments: Store.allCases) func firmwareAndBootPathAreKept(_ store: Store) throws {
        let r = try store.open(dir)
        try r.add([try spec("a", "02:00:00:00:00:01")], config: try config(), now: "2026-01-01T00:00:00Z")
        let mac = try MACAddress(parsing: "02:00:00:00:00:01")
        let path = BootPath(firmware: .uefiHTTP, loader: "snponly.efi")
        _ = try r.recordBootEvent(mac: mac, ip: "10.0.0.2", phase: .dhcp, now: "2026-01-01T00:00:01Z", newBoot: true, bootPath: path)
        #expect(try r.status("a")?.bootPath == path)
        let capacity = NodeCapacity(coresMax: 2, coresFree: 2, memoryMiBMax: 1024, memoryMiBFree: 900, diskMiBMax: 0, diskMiBFree: 0,
                                    hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: nil, libvirtVersion: nil)
        try r.recordEnrollment(hostname: try Hostname(parsing: "a"), image: "default/g1", capacity: capacity, instances: [], bootTimings: nil,
                               platform: NodePlatform(firmware: .uefi, secureboot: true), now: "2026-01-01T00:00:30Z")
        let s = try #require(try r.status("a"))
        #expect(s.platform == NodePlatform(firmware: .uefi, secureboot: true) && s.bootPath == path)
        // The operator's JSON spells them as documented.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(s), as: UTF8.self)
        #expect(json.contains("\"boot_path\":{\"firmware\":\"uefi-http\",\"loader\":\"snponly.efi\"}"), "\(json)")
        #expect(json.contains("\"platform\":{\"firmware\":\"uefi\",\"secureboot\":true}"), "\(json)")
        // The next boot starts over with its own path.
        _ = try r.recordBootEvent(mac: mac, ip: "10.0.0.2", phase: .dhcp, now: "2026-01-01T00:05:00Z", newBoot: true,
                              bootPath: BootPath(firmware: .bios, loader: "pxelinux.0"))
        #expect(try r.status("a")?.bootPath?.firmware == .bios)
    }

    /// A boot credential is kept as its digest, replaced by the next one, used
    /// once (atomically, from any connection), and goes with its node.
    @Test(arguments: Store.allCases) func bootCredentialsAreUsedOnce(_ store: Store) throws {
        let (r, reopen) = try store.make(dir)
        let mac = try MACAddress(parsing: "02:00:00:00:00:07")
        try r.add([try spec("n7", mac.description)], config: try config(), now: "t0")
        #expect(try r.bootCredential(mac: mac) == nil)
        #expect(throws: NotFoundError.self) {
            try r.mintBootCredential(BootCredentialRecord(mac: try MACAddress(parsing: "02:00:00:00:00:99"), digest: "d", givenTo: nil, mintedAt: "t1"))
        }
        let first = BootCredentialRecord(mac: mac, digest: BootCredential.digest("one"), givenTo: "10.0.0.7", mintedAt: "t1")
        try r.mintBootCredential(first)
        #expect(try r.bootCredential(mac: mac) == first)
        // A newer one replaces it: the older no longer enrolls.
        let second = BootCredentialRecord(mac: mac, digest: BootCredential.digest("two"), givenTo: "10.0.0.7", mintedAt: "t2")
        try r.mintBootCredential(second)
        #expect(try !r.useBootCredential(mac: mac, digest: first.digest, now: "t3", from: "10.0.0.7"))
        // Used once, whichever connection (boot server) comes first.
        let other = try reopen()
        #expect(try other.useBootCredential(mac: mac, digest: second.digest, now: "t3", from: "10.0.0.7"))
        #expect(try !r.useBootCredential(mac: mac, digest: second.digest, now: "t4", from: "10.0.0.66"))
        var used = second
        used.usedAt = "t3"
        used.usedFrom = "10.0.0.7"
        #expect(try r.bootCredential(mac: mac) == used)
        // A new boot's credential starts unused.
        try r.mintBootCredential(first)
        #expect(try r.bootCredential(mac: mac)?.usedAt == nil)
        // A node's MAC changed, or the node removed: its credential no longer stands.
        _ = try r.update("n7", NodeChange(mac: try MACAddress(parsing: "02:00:00:00:00:08")), config: try config(), now: "t5")
        #expect(try r.bootCredential(mac: mac) == nil && r.bootCredential(mac: try MACAddress(parsing: "02:00:00:00:00:08")) == nil)
        _ = try r.remove(["n7"], now: "t6")
        let left = try r.read { db in try db.value(Int.self, "SELECT count(*) FROM boot_credentials") }
        #expect(left == 0)
    }

    /// An enrollment is one transaction: the boot credential used up, the status
    /// and the heartbeat credential recorded; a second one of the same boot records nothing.
    @Test(arguments: Store.allCases) func anEnrollmentUsesItsCredentialAndRecordsAllOrNothing(_ store: Store) throws {
        let r = try store.open(dir)
        let node = try #require(try r.add([try spec("n9", "02:00:00:00:00:09", ip: "10.0.0.9")], config: try config(), now: "t0").first)
        let mac = try #require(node.mac)
        try r.mintBootCredential(BootCredentialRecord(mac: mac, digest: "b1", givenTo: "10.0.0.9", mintedAt: "t1"))
        let capacity = NodeCapacity(coresMax: 2, coresFree: 2, memoryMiBMax: 1024, memoryMiBFree: 1000, diskMiBMax: 1, diskMiBFree: 1,
                                    hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: nil, libvirtVersion: nil)
        func enrollment(_ boot: String, _ heartbeat: String, image: String) -> EnrollmentRecord {
            EnrollmentRecord(node: node, bootDigest: boot, from: "10.0.0.9", heartbeatDigest: heartbeat, image: image, capacity: capacity,
                             instances: [], bootTimings: nil, platform: nil)
        }
        #expect(try !r.enroll(enrollment("made-up", "h0", image: "default/g9"), now: "t2"), "a credential never minted")
        #expect(try r.status("n9")?.state == .registered && r.nodeCredential(digest: "h0") == nil)
        #expect(try r.enroll(enrollment("b1", "h1", image: "default/g1"), now: "t3"))
        #expect(try r.status("n9")?.image == "default/g1" && r.status("n9")?.state == .ready)
        #expect(try r.nodeCredential(digest: "h1")?.hostname == node.hostname && r.bootCredential(mac: mac)?.usedFrom == "10.0.0.9")
        // The same boot again: nothing recorded, the live heartbeat credential stays.
        #expect(try !r.enroll(enrollment("b1", "h2", image: "default/g2"), now: "t4"))
        #expect(try r.status("n9")?.image == "default/g1" && r.nodeCredential(digest: "h1") != nil && r.nodeCredential(digest: "h2") == nil)
    }

    /// Each node's heartbeat credential, as a digest: the last one issued stands, and goes with its node.
    @Test(arguments: Store.allCases) func heartbeatCredentialsAreKeptByDigest(_ store: Store) throws {
        let r = try store.open(dir)
        try r.add([try spec("n8", "02:00:00:00:00:08", ip: "10.0.0.8")], config: try config(), now: "t0")
        let n8 = try Hostname(parsing: "n8"), ip = try IPv4Address(parsing: "10.0.0.8")
        #expect(throws: NotFoundError.self) { try r.setNodeCredential(hostname: try Hostname(parsing: "nope"), digest: "x", ip: ip, now: "t") }
        try r.setNodeCredential(hostname: n8, digest: "c1", ip: ip, now: "t1")
        #expect(try r.nodeCredential(digest: "c1").map { "\($0.hostname) \($0.ip)" } == "n8 10.0.0.8")
        try r.setNodeCredential(hostname: n8, digest: "c2", ip: ip, now: "t2")
        #expect(try r.nodeCredential(digest: "c1") == nil && r.nodeCredential(digest: "c2")?.hostname == n8)
        _ = try r.remove(["n8"], now: "t3")
        #expect(try r.nodeCredential(digest: "c2") == nil)
    }

    /// Named API tokens by digest, and the audit log with who made each change.
    @Test(arguments: Store.allCases) func apiTokensAndTheAuditActor(_ store: Store) throws {
        let r = try store.open(dir)
        let ci = try APITokenName(parsing: "ci")
        let made = try r.addAPIToken(name: ci, digest: "d1", scopes: [.read, .write], now: "2026-12-07T10:00:00Z")
        #expect(made.scopes == [.read, .write] && made.lastUsedAt == nil)
        #expect(throws: ConflictError.self) { try r.addAPIToken(name: ci, digest: "d2", scopes: [.read], now: "t") }
        #expect(try r.apiToken(digest: "d1")?.name == "ci" && r.apiToken(digest: "d2") == nil)
        try r.touchAPIToken(name: "ci", now: "2026-12-07T10:05:00Z", after: "2026-12-07T10:04:00Z")
        try r.touchAPIToken(name: "ci", now: "2026-12-07T10:05:30Z", after: "2026-12-07T10:04:30Z")
        #expect(try r.apiTokens().map(\.lastUsedAt) == ["2026-12-07T10:05:00Z"], "noted at most once a minute")
        _ = try r.rotateAPIToken(name: ci, digest: "d3", now: "2026-12-07T11:00:00Z")
        #expect(try r.apiToken(digest: "d1") == nil && r.apiToken(digest: "d3")?.rotatedAt == "2026-12-07T11:00:00Z")
        try AuditActor.$current.withValue("token:ops") {
            try r.add([try spec("a1", "02:00:00:00:00:a1")], config: try config(), now: "2026-12-07T12:00:00Z")
        }
        try r.revokeAPIToken(name: ci, now: "2026-12-07T13:00:00Z")
        #expect(throws: NotFoundError.self) { try r.revokeAPIToken(name: ci, now: "t") }
        #expect(throws: NotFoundError.self) { try r.rotateAPIToken(name: ci, digest: "d4", now: "t") }
        #expect(try r.apiTokens().isEmpty)
        let log = try r.audit(since: nil, limit: 10)
        #expect(log.map(\.action) == ["token.add", "token.rotate", "node.add", "token.revoke"], "\(log)")
        #expect(log[2].actor == "token:ops" && log[2].subject == "a1")
        #expect(!log.contains { ($0.new ?? "").contains("d1") || ($0.new ?? "").contains("d3") }, "no digest in the audit log")
        #expect(try r.audit(since: "2026-12-07T12:00:00Z", limit: 10).map(\.action) == ["node.add", "token.revoke"])
        #expect(try r.audit(since: nil, limit: 1).map(\.action) == ["token.revoke"], "the latest, oldest first")
    }

    /// Anyone on the node network can make up MACs: the queue stops at its
    /// limit, and a machine already queued is still seen again.
    @Test(arguments: Store.allCases) func theDiscoveryQueueIsBounded(_ store: Store) throws {
        let r = try store.open(dir)
        let limit = SQLiteRegistry.discoveryLimit
        func mac(_ i: Int) throws -> MACAddress { try MACAddress(parsing: String(format: "02:77:00:00:%02x:%02x", i >> 8, i & 0xff)) }
        for i in 0..<(limit + 5) {
            #expect(try r.recordBootEvent(mac: mac(i), ip: nil, phase: .ipxe, now: "2026-01-01T00:00:01Z") == nil)
        }
        var queued = try r.discovered()
        #expect(queued.count == limit)
        #expect(!queued.contains { $0.mac == (try? mac(limit))?.description }, "a MAC over the limit was queued")
        _ = try r.recordBootEvent(mac: mac(0), ip: "10.0.0.9", phase: .dhcp, now: "2026-01-01T00:00:02Z")
        queued = try r.discovered()
        let first = try #require(queued.first { $0.mac == (try? mac(0))?.description })
        #expect(queued.count == limit && first.ip == "10.0.0.9" && first.seen == 2, "\(first)")
    }

    @Test(arguments: Store.allCases) func allocatesNextFreeAddressAndAudits(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        let added = try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", nil), try spec("c", "02:00:00:00:00:03", ip: "10.0.0.3")], config: c, now: "t1")
        #expect(added.map(\.ip.description) == ["10.0.0.2", "10.0.0.4", "10.0.0.3"])
        #expect(added.map(\.state) == [.registered, .discoverable, .registered])
        #expect(try r.node("02-00-00-00-00-01")?.hostname.value == "a")
        #expect(try r.node("B")?.ip.description == "10.0.0.4")

        let (old, new) = try r.update("b", NodeChange(mac: try MACAddress(parsing: "02:00:00:00:00:02")), config: c, now: "t2")
        #expect(old.state == .discoverable && new.state == .registered && new.updatedAt == "t2")
        try r.remove(["c"], now: "t3")

        let audit = try r.read { db in try db.rows("SELECT action, subject, old, new FROM audit ORDER BY id") }
        #expect(audit.map { $0[0] as String } == ["node.add", "node.add", "node.add", "node.set", "node.rm"])
        #expect((audit[3][2] as String).contains("\"mac\":null"))
        #expect((audit[3][3] as String).contains("\"mac\":\"02:00:00:00:00:02\""))
        #expect(audit[4][3] as String? == nil)
    }

    @Test(arguments: Store.allCases) func aBatchWithOneConflictAddsNothing(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add([try spec("a", "02:00:00:00:00:01")], config: c, now: "t1")
        let batch = try (1...50).map { try spec("n\($0)", String(format: "02:00:00:00:01:%02x", $0)) } + [try spec("x", "02:00:00:00:00:01")]
        #expect(throws: ConflictError(field: "MAC address", value: "02:00:00:00:00:01", holder: "a", "MAC address 02:00:00:00:00:01 is already registered to a")) {
            try r.add(batch, config: c, now: "t2")
        }
        #expect(try r.count() == 1)
        #expect(try r.read { db in try db.value(Int.self, "SELECT count(*) FROM audit") } == 1)
    }

    @Test(arguments: Store.allCases) func conflictsNameTheHolder(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add([try spec("a", "02:00:00:00:00:01", ip: "10.0.0.9")], config: c, now: "t1")
        #expect(throws: ConflictError(field: "hostname", value: "a", holder: "a", "hostname a is already registered")) { try r.add([try spec("a", nil)], config: c, now: "t") }
        #expect(throws: ConflictError(field: "IP address", value: "10.0.0.9", holder: "a", "IP address 10.0.0.9 is already assigned to a")) { try r.add([try spec("b", nil, ip: "10.0.0.9")], config: c, now: "t") }
        #expect(throws: ValidationError.self) { try r.add([try spec("b", nil, ip: "10.0.0.1")], config: c, now: "t") }
        try r.add([try spec("b", nil)], config: c, now: "t")
        #expect(throws: ConflictError(field: "IP address", value: "10.0.0.9", holder: "a", "IP address 10.0.0.9 is already assigned to a")) {
            try r.update("b", NodeChange(ip: try IPv4Address(parsing: "10.0.0.9")), config: c, now: "t")
        }
        #expect(throws: NotFoundError("node", "zz")) { try r.remove(["b", "zz"], now: "t") }
        #expect(try r.count() == 2)
    }

    /// The allocator's shortcut for a dense registry must give the same
    /// addresses as a search over every address in use.
    @Test(arguments: Store.allCases) func allocationFillsHolesAndResumesAboveADenseBlock(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()  // 10.0.0.0/24, server .1, dynamic range .200-.250
        try r.add([try spec("a", nil), try spec("b", nil), try spec("c", nil)], config: c, now: "t0")
        #expect(try r.nodes().map(\.ip.description) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"])
        // Dense: the next one goes above the block.
        #expect(try r.add([try spec("d", nil)], config: c, now: "t1")[0].ip.description == "10.0.0.5")
        // A hole: it is filled first, then allocation resumes above.
        try r.remove(["b"], now: "t2")
        #expect(try r.add([try spec("e", nil), try spec("f", nil)], config: c, now: "t3").map(\.ip.description) == ["10.0.0.3", "10.0.0.6"])
        // Up to the dynamic range, then past it; a node on the top host does not hide the holes below it.
        try r.add([try spec("top", nil, ip: "10.0.0.254")], config: c, now: "t4")
        #expect(try r.add([try spec("g", nil)], config: c, now: "t5")[0].ip.description == "10.0.0.7")
        try r.add((8...199).map { try spec("h\($0)", nil, ip: "10.0.0.\($0)") }, config: c, now: "t6")
        #expect(try r.add([try spec("i", nil)], config: c, now: "t7")[0].ip.description == "10.0.0.251")
        #expect(try r.add([try spec("j", nil)], config: c, now: "t8")[0].ip.description == "10.0.0.252")
    }

    @Test(arguments: Store.allCases) func claimGivesEachMachineItsOwnWaitingNode(_ store: Store) throws {
        let c = try config()
        let (r, opener) = try store.make(dir)
        try r.add([try spec("w3", nil), try spec("w1", nil), try spec("w2", nil), try spec("taken", "02:00:00:00:00:aa")], config: c, now: "t0")
        // Eight machines claim at once, each through its own connection: three get a node, in hostname order of the nodes.
        let results = Mutex<[String: String]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            let mac = try! MACAddress(parsing: String(format: "02:00:00:00:01:%02x", k + 1))
            let mine = try! opener()
            let outcome: String
            do { outcome = try mine.claim(mac: mac, into: nil, now: "t1").new.hostname.value } catch { outcome = "\(error)" }
            results.withLock { $0[mac.description] = outcome }
        }
        let got = results.withLock { $0 }
        #expect(Set(got.values.filter { $0.hasPrefix("w") }) == ["w1", "w2", "w3"], "\(got)")
        #expect(got.values.filter { $0 == "no node waits for discovery; give a hostname" }.count == 5, "\(got)")
        for n in try r.nodes() where n.hostname.value.hasPrefix("w") {
            #expect(got[n.mac?.description ?? ""] == n.hostname.value && n.state == .registered)
        }
        // Refusals name the reason and change nothing.
        try r.add([try spec("w4", nil)], config: c, now: "t2")
        let before = try r.nodes()
        let refusals: [(String, String?, FailureKind, String)] = [
            ("02:00:00:00:00:aa", nil, .conflict, "MAC address 02:00:00:00:00:aa is already registered to taken"),
            ("02:00:00:00:02:01", "taken", .conflict, "node taken already has a MAC address"),
            ("02:00:00:00:02:01", "nobody", .notFound, "no node \"nobody\""),
        ]
        for (mac, host, kind, message) in refusals {
            let error = #expect(throws: (any Error).self) {
                try r.claim(mac: try MACAddress(parsing: mac), into: try host.map { try Hostname(parsing: $0) }, now: "t3")
            }
            #expect(error.map { "\($0)" } == message)
            #expect(error.map { FailureKind(of: $0) } == kind)
        }
        #expect(try r.nodes() == before)
    }

    @Test(arguments: Store.allCases) func exhaustedPool(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add(try (1...202).map { try spec("n\($0)", nil) }, config: c, now: "t")
        #expect(throws: ConflictError("no free address left in the static pool of 10.0.0.0/24")) {
            try r.add([try spec("last", nil)], config: c, now: "t")
        }
    }
}

/// What only the PostgreSQL store has: its schema, its constraints held by
/// the database itself, writers on separate connections, and its URL.
@Suite struct PostgresRegistryTests {
    @Test func schemaIsCurrentAndReopeningKeepsData() throws {
        let server = try PostgresTestServer.shared.get()
        let url = try server.database()
        let r = try PostgresRegistry(url: url)
        #expect(try server.psql(url, "SELECT version FROM schema_version").trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.migrations.count)")
        try r.add([try spec("a", "02:00:00:00:00:01")], config: try config(), now: "t0")
        #expect(try PostgresRegistry(url: url).count() == 1)
        #expect(try PostgresRegistry(url: url).node("a")?.mac?.description == "02:00:00:00:00:01")
    }

    /// A writer that goes around the registry's checks (another boot server
    /// with a bug, a hand-made INSERT) still cannot register a taken MAC, hostname or IP.
    @Test func theDatabaseRefusesDuplicatesByItself() throws {
        let server = try PostgresTestServer.shared.get()
        let url = try server.database()
        let r = try PostgresRegistry(url: url)
        try r.add([try spec("a", "02:00:00:00:00:01", ip: "10.0.0.5")], config: try config(), now: "t0")
        for (host, mac, ip) in [("a", "02:00:00:00:00:09", 9), ("b", "02:00:00:00:00:01", 9), ("b", "02:00:00:00:00:09", 167772165)] {
            let error = #expect(throws: RegistryError.self) {
                try r.write { db in
                    try db.execute("INSERT INTO nodes (hostname, mac, ip, profile, state, created_at, updated_at) VALUES (?, ?, ?, 'default', 'registered', 't', 't')",
                                   [host, mac, ip])
                }
            }
            #expect(error?.kind == .conflict, "\(String(describing: error))")
        }
        #expect(try r.count() == 1)
    }

    @Test func aStoppedOrMissingDatabaseIsUnavailableNamedWithoutItsPassword() throws {
        let server = try PostgresTestServer.shared.get()
        let error = #expect(throws: RegistryError.self) {
            _ = try PostgresRegistry(url: "postgres://postgres:s3cret@/no_such_db?host=\(server.dir)")
        }
        #expect(error?.kind == .unavailable)
        #expect(error.map { "\($0)".contains("no_such_db") && !"\($0)".contains("s3cret") } == true, "\(String(describing: error))")
        let refused = #expect(throws: RegistryError.self) { _ = try PostgresRegistry(url: "postgres://postgres@/x?host=/nonexistent") }
        #expect(refused?.kind == .unavailable, "\(String(describing: refused))")
    }

    @Test func urls() throws {
        let socket = try PostgresLocation(url: "postgres://prov@/registry?host=/run/postgresql")
        #expect(socket.socketPath == "/run/postgresql/.s.PGSQL.5432" && socket.database == "registry" && socket.user == "prov")
        let tcp = try PostgresLocation(url: "postgresql://prov:pw%40x@db.example:6543/site?sslrootcert=/etc/provisioner/pg-ca.pem")
        #expect(tcp.host == "db.example" && tcp.port == 6543 && tcp.password == "pw@x" && tcp.socketPath == nil)
        // Over TCP: TLS checked against the CA by default.
        #expect(tcp.tls == .verifyFull && tcp.rootCertificate == "/etc/provisioner/pg-ca.pem")
        #expect(tcp.description == "postgres://prov:***@db.example:6543/site?sslmode=verify-full&sslrootcert=/etc/provisioner/pg-ca.pem")
        #expect(try PostgresLocation(url: "postgres://prov@db.example/site?sslmode=disable").tls == .disable)
        #expect(try PostgresLocation(url: "postgres://prov@db.example/site?sslmode=require").tls == .require)
        #expect(socket.tls == nil)
        #expect(PostgresLocation.redacted("postgres://u:secret@h/d") == "postgres://u:***@h/d")
        // URLs no parser reads still lose their passwords (a space, a bad port, a raw @ in the password, a bad escape).
        for malformed in ["postgres://u:se cret@h/d", "postgres://u:secret@h:99999999999/d", "postgres://u:sec@ret@h/d",
                          "postgres://u:secret%zz@h/d", "postgres://u:secret@[::1/d", "u:secret@h"] {
            let shown = PostgresLocation.redacted(malformed)
            #expect(!shown.contains("secret") && !shown.contains("cret") && !shown.contains("ret@"), "\(malformed) → \(shown)")
            do { _ = try PostgresLocation(url: malformed) } catch { #expect(!"\(error)".contains("cret"), "\(error)") }
        }
        for (bad, why) in [("mysql://h/d", "scheme"), ("postgres://h:0/d", "port"), ("postgres://h/d\nx", "line break"),
                           ("postgres://h/d", "give sslrootcert="), ("postgres://h/d?sslmode=verify-full&sslrootcert=ca.pem", "give sslrootcert="),
                           ("postgres://h/d?sslmode=prefer", "sslmode \"prefer\""), ("postgres://u@/d?host=/run/postgresql&sslmode=require", "not a Unix socket"),
                           ("postgres://h/d?sslmode=disable&sslcert=x", "unknown parameter \"sslcert\"")] {
            let error = #expect(throws: ValidationError.self) { try PostgresLocation(url: bad) }
            #expect(error?.field == "registry URL" && "\(error.map { "\($0)" } ?? "")".contains(why), "\(bad): \(String(describing: error))")
        }
    }
}
