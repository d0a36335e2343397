import Foundation
import ProvisionerLab
import ProvisionerPlatform
import Testing
import TestSupport

extension SystemTests {
/// A lab with PostgreSQL and two boot servers (`lab up --servers 2`): a QEMU
/// node boots and enrolls; the boot server it booted from is killed with all
/// its daemons; the node is power-cycled through its BMC and comes back
/// through the other one: its lease, iPXE script, kernel and NFS root from
/// the survivor, and its enrollment recorded in the shared registry. Then
/// PostgreSQL is stopped and the node power-cycled again: it boots from the
/// survivor alone, and enrolls once the database is back.
@Suite(.serialized) struct LabTwoServersTests {
    @Test(.enabled(if: LabEndToEndTests.unavailableReason == nil, "\(LabEndToEndTests.unavailableReason ?? "")"), .timeLimit(.minutes(20)))
    func aNodeComesBackThroughTheOtherBootServer() throws {
        let pg = try PostgresTestServer()
        var pgRunning = true
        defer { if pgRunning { try? pg.stop() } }
        let url = try pg.database()
        let dir = NSTemporaryDirectory() + "provisioner-lab2-\(UUID().uuidString)"
        let home = Home(existing: dir)
        let controller = try #require(ImageBuildTests.nodeController, "build the static node controller first: make node-controller")
        var failed = true
        let step = StepClock("two boot servers lab test")
        let serial = dir + "/lab/lab1.serial.log"
        defer {
            if failed {
                for f in ["lab/lab1.serial.log", "lab/serve.log", "lab/serve-bs2.log", "run/provisioner/dnsmasq.log", "bs2/run/provisioner/dnsmasq.log"] {
                    let text = (try? String(contentsOfFile: dir + "/" + f, encoding: .utf8)) ?? "(none)"
                    print("--- \(f)\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n"))
                }
            }
            _ = try? home.run(["lab", "down"])
            try? FileManager.default.removeItem(atPath: dir)
        }

        // One vCPU: two boot servers and PostgreSQL share this machine's two cores with the node.
        let up = try home.run(["lab", "up", "--nodes", "1", "--cpus", "1", "--servers", "2", "--registry", url, "--cache", ImageBuildTests.cache, "--timeout", "600",
                               "--node-controller", controller])
        try #require(up.status == 0, "lab up failed:\n\(up.stderr.suffix(4000))")
        step("lab1 enrolled")
        let servers = (try home.run(["cluster", "status", "--json"]).object["boot_servers"] as? [[String: Any]] ?? [])
        #expect(servers.compactMap { $0["name"] as? String } == ["lab-bs1", "lab-bs2"], "\(servers)")
        #expect(servers.compactMap { $0["role"] as? String } == ["primary", "secondary"], "\(servers)")
        let node = try home.run(["node", "show", "lab1", "--json"]).object
        let nodeIP = node["ip"] as? String ?? ""
        #expect(nodeIP != VirtualLab.serverIP && nodeIP != VirtualLab.secondServerIP, "a node got a boot server's address: \(node)")

        // Which boot server booted it: the address in its kernel command line (nfsroot=ADDRESS:…).
        func nfsroots() -> [String] {
            let text = (try? String(contentsOfFile: serial, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "nfsroot=").dropFirst().map { String($0.prefix { $0 != ":" && $0 != " " }) }
        }
        let first = try #require(nfsroots().last, "no nfsroot in lab1's kernel command line")
        #expect([VirtualLab.serverIP, VirtualLab.secondServerIP].contains(first), "\(first)")
        let lab = VirtualLab(home: dir)
        let state = try #require(lab.state())
        // Kill that boot server outright, daemons and all, as a machine that died.
        let (killedHome, killedPID) = first == VirtualLab.serverIP ? (dir, state.servePID) : (lab.secondHome, state.secondServePID ?? 0)
        kill(killedPID, SIGKILL)
        for daemon in ["dnsmasq", "ganesha", "rpcbind"] {
            if let pid = ProcessRunner.livePID(fromFile: "\(killedHome)/run/provisioner/\(daemon).pid") { kill(pid, SIGKILL) }
        }
        step("boot server \(first) killed")
        let before = node["enrolled_at"] as? String ?? ""
        let reboot = try home.run(["lab", "reboot", "lab1"])
        try #require(reboot.status == 0, "\(reboot.stderr)")
        let back = waitFor(420, every: 2) {
            let s = (try? home.run(["node", "show", "lab1", "--json"]))?.object ?? [:]
            return s["state"] as? String == "ready" && (s["enrolled_at"] as? String ?? "") > before
        }
        step("lab1 back")
        let tail = { ((try? String(contentsOfFile: serial, encoding: .utf8)) ?? "").suffix(6000) }
        #expect(back, "lab1 did not enroll again after its boot server died; its serial log ends:\n\(tail())")
        let survivor = first == VirtualLab.serverIP ? VirtualLab.secondServerIP : VirtualLab.serverIP
        #expect(nfsroots().last == survivor, "lab1 came back through \(nfsroots().last ?? "nothing"), not \(survivor)")
        // The node controller enrolls before getty prints its prompt.
        let named = waitFor(120, every: 1) {
            let text = (try? String(contentsOfFile: serial, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "nfsroot=").last?.contains("Debian GNU/Linux 12 lab1 ttyS0") == true
        }
        #expect(named, "lab1 did not get its name from the survivor's DHCP")
        let after = try home.run(["node", "show", "lab1", "--json"]).object
        #expect(after["ip"] as? String == nodeIP, "\(after)")

        // PostgreSQL stopped too: the node is power-cycled through its BMC (ipmitool, as an operator
        // would: the registry that knows the BMC is down) and boots from the survivor's replica and
        // files alone; its controller's enrollment is refused (retryable) until the database is back.
        try pg.stop()
        pgRunning = false
        step("PostgreSQL stopped")
        let bmc = try #require(lab.state()?.nodes.first, "no lab node in the state")
        // Only what the node prints from here on counts (a power-on through the lab starts a new log).
        let offset = (FileManager.default.contents(atPath: serial) ?? Data()).count
        if let port = bmc.bmcPort {
            let cycle = try runProcess("/usr/bin/ipmitool", ["-I", "lanplus", "-H", "127.0.0.1", "-p", String(port), "-U", "admin",
                                                             "-f", dir + "/lab/bmc/password", "chassis", "power", "cycle"])
            try #require(cycle.status == 0, "ipmitool: \(cycle.stderr)")
        } else {
            try lab.powerOff("lab1")
            try lab.powerOn("lab1")
        }
        var restarted = false
        let bootedWithoutDB = waitFor(300, every: 1) {
            let data = FileManager.default.contents(atPath: serial) ?? Data()
            if data.count < offset { restarted = true }
            let text = String(decoding: restarted ? data : data.dropFirst(offset), as: UTF8.self)
            return text.contains("nfsroot=\(survivor)") && text.contains("Debian GNU/Linux 12 lab1 ttyS0")
        }
        step("lab1 booted with PostgreSQL down")
        #expect(bootedWithoutDB, "lab1 did not boot from the survivor while PostgreSQL was down")
        try pg.start()
        pgRunning = true
        let enrolled = waitFor(180, every: 2) {
            let s = (try? home.run(["node", "show", "lab1", "--json"]))?.object ?? [:]
            return s["state"] as? String == "ready" && (s["enrolled_at"] as? String ?? "") > (after["enrolled_at"] as? String ?? "")
        }
        step("lab1 enrolled once PostgreSQL was back")
        #expect(enrolled, "lab1 did not enroll after PostgreSQL came back")

        let down = try home.run(["lab", "down"])
        #expect(down.status == 0 && down.stderr.contains("removed namespace \(lab.secondNamespace)"), "\(down.stderr)")
        #expect(!(try runProcess("/usr/sbin/ip", ["netns", "list"])).stdout.contains(lab.namespace), "a lab namespace was left behind")
        failed = false
    }
}
}
