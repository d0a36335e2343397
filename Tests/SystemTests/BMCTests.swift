import Foundation
import ProvisionerBoot
import ProvisionerLab
import Testing
import TestSupport

/// Real BMC emulators on loopback: `ipmi_sim` (OpenIPMI) with a chassis whose
/// state is a file, and sushy-tools' Redfish emulator with its fake systems.
final class BMCLab {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools/bmc").path
    static let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build-py/bin").path
    static let password = "Pw-\(UUID().uuidString.prefix(12))"

    static var unavailableReason: String? {
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/ipmi_sim") || !FileManager.default.isExecutableFile(atPath: "/usr/bin/ipmitool") {
            return "needs openipmi and ipmitool (make deps)"
        }
        if !FileManager.default.isExecutableFile(atPath: venv + "/sushy-emulator") { return "needs sushy-tools in .build-py (make pydeps)" }
        return nil
    }

    let dir: String
    var daemons: [Background] = []
    var sims: [IPMISimulator] = []

    init(_ dir: String) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// A password file with `password`, mode 0600.
    func passwordFile(_ name: String, _ password: String = BMCLab.password, mode: mode_t = 0o600) throws -> String {
        let path = dir + "/" + name
        try #require(FileManager.default.createFile(atPath: path, contents: Data(password.utf8)))
        chmod(path, mode)
        return path
    }

    /// An IPMI BMC on 127.0.0.1:`port`; its chassis state is `chassis(port)`.
    func startIPMI(port: Int) throws {
        let d = "\(dir)/ipmi\(port)"
        sims.append(try IPMISimulator.start(dir: d, name: "bmc\(port)", port: port, password: Self.password,
                                            chassisControl: "/usr/bin/env BMC_STATE_DIR=\(d) \(Self.tools)/chassis_control 0x20"))
        let pass = try passwordFile("probe.pass")
        try #require(waitFor(10) {
            (try? runProcess("/usr/bin/ipmitool", ["-I", "lanplus", "-H", "127.0.0.1", "-p", String(port), "-U", "admin", "-f", pass, "-C", "3",
                                                   "-R", "1", "-N", "1", "chassis", "power", "status"]))?.status == 0
        }, "ipmi_sim on port \(port) did not answer")
    }

    /// The chassis state the IPMI BMC on `port` drives: ["power": "0|1", "boot": "pxe|default|…"].
    func chassis(_ port: Int) -> [String: String] {
        let text = (try? String(contentsOfFile: "\(dir)/ipmi\(port)/chassis-0x20.state", encoding: .utf8)) ?? ""
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
        }
        return out
    }

    /// A Redfish BMC on 127.0.0.1:`port` managing `systems` fake systems (ids s01, s02, …), all off.
    func startRedfish(port: Int, systems: Int) throws {
        let d = "\(dir)/redfish\(port)"
        try FileManager.default.createDirectory(atPath: d + "/state", withIntermediateDirectories: true)
        let hash = try runProcess(Self.venv + "/python", ["-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=4)).decode())", Self.password])
        try #require(hash.status == 0, "\(hash.stderr)")
        try "admin:\(hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\n".write(toFile: d + "/htpasswd", atomically: true, encoding: .utf8)
        let list = (1...systems).map { i in
            "{'uuid': 's\(String(format: "%02d", i))', 'name': 'node-\(i)', 'power_state': 'Off', 'nics': [{'mac': '52:54:00:aa:00:\(String(format: "%02x", i))', 'ip': '192.0.2.\(i)'}]}"
        }.joined(separator: ",\n    ")
        try """
            SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
            SUSHY_EMULATOR_LISTEN_PORT = \(port)
            SUSHY_EMULATOR_AUTH_FILE = '\(d)/htpasswd'
            SUSHY_EMULATOR_FAKE_DRIVER = True
            SUSHY_EMULATOR_STATE_DIR = '\(d)/state'
            SUSHY_EMULATOR_FAKE_SYSTEMS = [
                \(list)
            ]

            """.write(toFile: d + "/emulator.conf", atomically: true, encoding: .utf8)
        daemons.append(try Background([Self.venv + "/python", Self.tools + "/sushy_fast.py", "--config", d + "/emulator.conf"], log: d + "/sushy.log"))
        try #require(waitFor(30) { (try? runProcess("/usr/bin/curl", ["-sf", "-m", "2", "http://127.0.0.1:\(port)/redfish/v1/"]))?.status == 0 },
                     "sushy-emulator on port \(port) did not answer: \(daemons.last?.output ?? "")")
        // The emulator builds its systems driver on the first request that needs it, and
        // concurrent first requests each build one: a late one writes the configured
        // (Off, Hdd) systems back over what an earlier one had changed. One request first,
        // as a BMC that has been up for a while would have had.
        try #require(try redfishSystem(port: port, id: "s01")["PowerState"] as? String == "Off",
                     "sushy-emulator on port \(port) did not list its systems: \(daemons.last?.output ?? "")")
    }

    /// What the Redfish emulator itself says of system `id` (PowerState, Boot), read with curl.
    func redfishSystem(port: Int, id: String) throws -> [String: Any] {
        let netrc = dir + "/netrc"
        try #require(FileManager.default.createFile(atPath: netrc, contents: Data("machine 127.0.0.1 login admin password \(Self.password)\n".utf8)))
        chmod(netrc, 0o600)
        let r = try runProcess("/usr/bin/curl", ["-sf", "-m", "5", "--netrc-file", netrc, "http://127.0.0.1:\(port)/redfish/v1/Systems/\(id)"])
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
    }

    func stop() {
        for d in daemons { _ = d.stop(seconds: 5) }
        for s in sims { s.stop() }
    }
}

extension SystemTests {
/// `node power` and `node boot-next` against real BMC emulators: what the
/// product reports agrees with the emulator's own state; PXE is set before a
/// power-on; the password is in no process's command line, no output and not
/// in the registry; a wrong password is reported as such; unreachable and hung
/// BMCs among many cost their own timeout only; a node list is required.
@Suite(.serialized) struct BMCTests {
    @Test(.enabled(if: BMCLab.unavailableReason == nil, "\(BMCLab.unavailableReason ?? "")"))
    func ipmiPowerAgreesWithTheChassis() throws {
        let home = try Home()
        let lab = try BMCLab(home.dir + "/bmc")
        defer { lab.stop() }
        try lab.startIPMI(port: 19623)
        let pass = try lab.passwordFile("rack1.pass")
        try #require(try home.run(["node", "add", "n1", "--mac", "02:00:00:00:01:01", "--no-apply"]).status == 0)
        let set = try home.run(["node", "bmc", "n1", "--driver", "ipmi", "--address", "127.0.0.1:19623", "--user", "admin", "--password-file", pass])
        try #require(set.status == 0, "\(set.stderr)")

        // Off at first; on sets PXE for the next boot first; the chassis agrees each time.
        var r = try home.run(["node", "power", "status", "n1", "--json"])
        #expect(r.status == 0 && r.objects.first?["result"] as? String == "off", "\(r.stdout)\(r.stderr)")
        r = try home.run(["node", "power", "on", "n1"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(lab.chassis(19623) == ["power": "1", "boot": "pxe"], "\(lab.chassis(19623))")
        r = try home.run(["node", "power", "status", "n1", "--json"])
        #expect(r.objects.first?["result"] as? String == "on", "\(r.stdout)")
        r = try home.run(["node", "power", "off", "n1", "--json"])
        #expect(r.status == 0 && lab.chassis(19623)["power"] == "0", "\(r.stdout)\(r.stderr)")
        // Cycle of a node that is off powers it on.
        r = try home.run(["node", "power", "cycle", "n1", "--json"])
        #expect(r.status == 0 && lab.chassis(19623)["power"] == "1", "\(r.stdout)\(r.stderr)")

        // A wrong password: reported as authentication, exit 1, no password anywhere.
        let wrong = try lab.passwordFile("wrong.pass", "not-the-password")
        try #require(try home.run(["node", "add", "n2", "--mac", "02:00:00:00:01:02", "--no-apply"]).status == 0)
        try #require(try home.run(["node", "bmc", "n2", "--driver", "ipmi", "--address", "127.0.0.1:19623", "--user", "admin", "--password-file", wrong]).status == 0)
        r = try home.run(["node", "power", "status", "n2", "--json"])
        #expect(r.status == 1 && r.objects.first?["failure"] as? String == "authentication", "\(r.status) \(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("not-the-password") && !r.stderr.contains("not-the-password"))

        // The registry keeps the path, never the password (its dump, audit included).
        let dump = try home.dump()
        #expect(dump.contains(pass) && !dump.contains(BMCLab.password))
    }

    @Test(.enabled(if: BMCLab.unavailableReason == nil, "\(BMCLab.unavailableReason ?? "")"))
    func redfishFanOutAmongDeadAndHungBMCs() throws {
        let home = try Home()
        let lab = try BMCLab(home.dir + "/bmc")
        defer { lab.stop() }
        try lab.startRedfish(port: 18123, systems: 28)
        let pass = try lab.passwordFile("redfish.pass")
        // Two dead ports (nothing listens) and two hung BMCs (they accept and never answer).
        let hung = try Background(["/usr/bin/python3", "-c", """
            import socket, time
            socks = []
            for port in (18201, 18202):
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', port)); s.listen(64); socks.append(s)
            time.sleep(600)
            """], log: home.dir + "/hung.log")
        defer { _ = hung.stop() }
        var csv = "mac,hostname\n"
        for i in 1...32 { csv += String(format: "02:00:00:00:02:%02x,r%02d\n", i, i) }
        try #require(try home.run(["node", "import", try home.file("nodes.csv", csv), "--no-apply"]).status == 0)
        for i in 1...32 {
            let address = switch i { case 29: "http://127.0.0.1:18301"; case 30: "http://127.0.0.1:18302"; case 31: "http://127.0.0.1:18201"; case 32: "http://127.0.0.1:18202"
                                     default: "http://127.0.0.1:18123" }
            var args = ["node", "bmc", String(format: "r%02d", i), "--driver", "redfish", "--address", address, "--user", "admin", "--password-file", pass]
            if i <= 28 { args += ["--system", String(format: "s%02d", i)] }
            try #require(try home.run(args).status == 0)
        }

        // Watch every process's command line while the fan-out runs: the password must never show.
        let leak = LeakWatcher(needle: BMCLab.password)
        let started = Date()
        let r = try home.run(["node", "power", "on", "r[01-32]", "--json", "--timeout", "5", "--parallel", "8"])
        let elapsed = Date().timeIntervalSince(started)
        let seen = leak.stop()
        #expect(seen.isEmpty, "the password was in a command line: \(seen)")
        #expect(r.status == 6, "exit status of an unreachable BMC: \(r.status) \(r.stderr)")
        let results = r.objects
        #expect(results.count == 32, "\(r.stdout)")
        let good = results.filter { $0["failure"] == nil }
        #expect(good.count == 28, "\(r.stdout)")
        #expect(results.filter { $0["failure"] as? String == "unreachable" }.count == 4, "\(r.stdout)")
        // The 28 live systems are on, each with a one-time PXE boot; the emulator says so itself.
        for i in [1, 14, 28] {
            let system = try lab.redfishSystem(port: 18123, id: String(format: "s%02d", i))
            #expect(system["PowerState"] as? String == "On", "\(system)")
            #expect((system["Boot"] as? [String: Any])?["BootSourceOverrideTarget"] as? String == "Pxe", "\(system)")
        }
        // Dead BMCs fail at once; hung ones at their timeout; none slows the live ones.
        for res in results where res["failure"] == nil { #expect((res["seconds"] as? Double ?? 99) < 5, "\(res)") }
        #expect(elapsed < 5 * 2 + 10, "the fan-out took \(elapsed) s with a 5 s timeout")
        #expect(!r.stdout.contains(BMCLab.password) && !r.stderr.contains(BMCLab.password))

        // Status agrees with the emulator; off, then boot-next alone.
        let off = try home.run(["node", "power", "off", "r[01-02]", "--json"])
        #expect(off.status == 0, "\(off.stdout)\(off.stderr)")
        #expect(try lab.redfishSystem(port: 18123, id: "s01")["PowerState"] as? String == "Off")
        let status = try home.run(["node", "power", "status", "r[01-03]", "--json"])
        #expect(status.objects.map { $0["result"] as? String } == ["off", "off", "on"], "\(status.stdout)")
        #expect(try home.run(["node", "boot-next", "pxe", "r03"]).status == 0)

        // A wrong password is reported as authentication, not as unreachable.
        let wrong = try lab.passwordFile("wrong.pass", "nope-\(UUID().uuidString.prefix(6))")
        try #require(try home.run(["node", "bmc", "r01", "--driver", "redfish", "--address", "http://127.0.0.1:18123", "--user", "admin",
                                   "--password-file", wrong, "--system", "s01"]).status == 0)
        let denied = try home.run(["node", "power", "status", "r01", "--json"])
        #expect(denied.status == 1 && denied.objects.first?["failure"] as? String == "authentication", "\(denied.stdout)\(denied.stderr)")
    }

    @Test func badBMCInputChangesNothing() throws {
        let home = try Home()
        try #require(try home.run(["node", "add", "n1", "--mac", "02:00:00:00:03:01", "--no-apply"]).status == 0)
        let open = home.dir + "/open.pass"
        try #require(FileManager.default.createFile(atPath: open, contents: Data("secret".utf8)))
        chmod(open, 0o644)
        let before = try home.dump()
        var r = try home.run(["node", "bmc", "n1", "--driver", "ipmi", "--address", "10.1.0.1", "--user", "admin", "--password-file", open])
        #expect(r.status == 2 && r.stderr.contains("BMC password file") && r.stderr.contains("chmod 600"), "\(r.stderr)")
        r = try home.run(["node", "bmc", "n1", "--driver", "telnet", "--address", "10.1.0.1", "--user", "admin", "--password-file", open])
        #expect(r.status == 2 && r.stderr.contains("BMC driver") && r.stderr.contains("telnet"), "\(r.stderr)")
        r = try home.run(["node", "bmc", "n1", "--driver", "redfish", "--address", "10.1.0.1\nx", "--user", "admin", "--password-file", open])
        #expect(r.status == 2 && r.stderr.contains("BMC address"), "\(r.stderr)")
        #expect(try home.dump() == before, "a refused BMC setting changed the registry")
        // Only an address: the rest must come from the node's profile.
        r = try home.run(["node", "bmc", "n1", "--address", "10.1.0.1"])
        #expect(r.status == 2 && r.stderr.contains("BMC driver") && r.stderr.contains("profiles.default.bmc.driver"), "\(r.stderr)")
        #expect(try home.dump() == before)
        // What a rack shares, in its profile: the address is then enough.
        let pass = home.dir + "/rack.pass"
        try #require(FileManager.default.createFile(atPath: pass, contents: Data("secret\n".utf8)))
        chmod(pass, 0o600)
        let configPath = home.dir + "/provisioner.yaml"
        let yaml = try String(contentsOfFile: configPath, encoding: .utf8)
        try yaml.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    bmc: {driver: ipmi, user: rackadmin, password_file: \(pass)}\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        r = try home.run(["node", "bmc", "n1", "--address", "10.1.0.1", "--json"])
        #expect(r.status == 0 && r.object["driver"] as? String == "ipmi" && r.object["user"] as? String == "rackadmin"
                && r.object["password_file"] as? String == pass, "\(r.stdout)\(r.stderr)")
        // What the node is given wins over the profile.
        r = try home.run(["node", "bmc", "n1", "--address", "https://10.1.0.1", "--driver", "redfish", "--json"])
        #expect(r.status == 0 && r.object["driver"] as? String == "redfish" && r.object["user"] as? String == "rackadmin", "\(r.stdout)\(r.stderr)")
        // A bad profile default is a config error naming its key.
        try yaml.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    bmc: {driver: telnet}\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        r = try home.run(["node", "bmc", "n1", "--address", "10.1.0.9"])
        #expect(r.status == 2 && r.stderr.contains("profiles.default.bmc.driver") && r.stderr.contains("telnet"), "\(r.status) \(r.stderr)")
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = try home.run(["node", "bmc", "n1", "--clear"])
        // No node list: refused, no all-nodes default.
        r = try home.run(["node", "power", "on"])
        #expect(r.status == 2 && r.stderr.contains("name the nodes"), "\(r.status) \(r.stderr)")
        // A node without a BMC: a config failure, named.
        r = try home.run(["node", "power", "status", "n1", "--json"])
        #expect(r.status == 2 && r.objects.first?["failure"] as? String == "config", "\(r.stdout)\(r.stderr)")
    }
}
}

/// Scans every process's command line in the background until stopped.
final class LeakWatcher: @unchecked Sendable { // state under lock
    private let lock = NSLock()
    private var running = true
    private var seen: [String] = []
    private let thread: Thread

    init(needle: String) {
        let box = Box()
        thread = Thread {
            while box.watcher?.isRunning ?? false {
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
                    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
                    let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
                    if line.contains(needle) { box.watcher?.record(line) }
                }
                usleep(5_000)
            }
        }
        box.watcher = self
        thread.start()
    }

    final class Box: @unchecked Sendable { weak var watcher: LeakWatcher? }

    var isRunning: Bool { lock.withLock { running } }
    func record(_ line: String) { lock.withLock { seen.append(line) } }

    /// Stops scanning; returns the command lines that held the needle.
    func stop() -> [String] {
        lock.withLock { running = false }
        usleep(20_000)
        return lock.withLock { seen }
    }
}
