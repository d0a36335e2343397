import Foundation
import ProvisionerAPI
import ProvisionerServices
import Testing

extension SystemTests {
/// The whole chain, as `make demo` runs it: two diskless QEMU nodes, one
/// BIOS and one UEFI (OVMF), PXE-boot from `provisioner serve`, take their names from DHCP, mount the shared root
/// read-only under a tmpfs overlay, and their node controllers enroll; a new
/// image generation is built and one node is rebooted onto it while the
/// other stays on the old one; a new machine nobody registered is plugged in
/// and, with discovery auto, boots as the waiting node spare1 and enrolls with
/// no other step; `lab down` leaves nothing running.
@Suite(.serialized) struct LabEndToEndTests {
    static var unavailableReason: String? {
        if let r = ImageBuildTests.unavailableReason { return r }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") { return "needs qemu-system-x86 (make deps)" }
        return TestNetwork.unavailableReason
    }

    @Test(.enabled(if: unavailableReason == nil, "\(unavailableReason ?? "")"), .timeLimit(.minutes(30)))
    func twoNodesBootEnrollUpgradeAndDiscover() throws {
        let dir = NSTemporaryDirectory() + "provisioner-lab-\(UUID().uuidString)"
        let home = Home(existing: dir)
        let controller = try #require(ImageBuildTests.nodeController, "build the static node controller first: make node-controller")
        var failed = true
        // Each step's time, printed: a slow step shows in the log of a run that passed.
        let step = StepClock("lab test")
        defer {
            if failed { print(diagnostics(dir)) }
            let down = try? home.run(["lab", "down"])
            print(down?.stderr ?? "")
            try? FileManager.default.removeItem(atPath: dir)
        }

        // 1. Two nodes boot and enroll.
        let up = try home.run(["lab", "up", "--nodes", "2", "--firmware", "bios,uefi", "--cache", ImageBuildTests.cache, "--timeout", "600",
                               "--node-controller", controller, "--spares", "1"])
        try #require(up.status == 0, "lab up failed:\n\(up.stderr.suffix(4000))")
        #expect(up.stdout.contains("boot phases"), "\(up.stdout)")
        // The node's own view of its boot, from systemd on the node, sent with the enrollment.
        let timings = try home.run(["node", "show", "lab1", "--json"]).object["boot_timings"] as? [String: Any] ?? [:]
        #expect((timings["kernel_seconds"] as? Double ?? 0) > 1 && (timings["controller_start_seconds"] as? Double ?? 0) > 0, "\(timings)")
        step("two nodes enrolled")
        // Each firmware took its own path: the server saw it in the DHCP request, the node reports it.
        let bios = try home.run(["node", "show", "lab1", "--json"]).object
        let uefi = try home.run(["node", "show", "lab2", "--json"]).object
        #expect(bios["boot_path"] as? [String: String] == ["firmware": "bios", "loader": "pxelinux.0"], "\(bios)")
        #expect((bios["platform"] as? [String: Any])?["firmware"] as? String == "bios", "\(bios)")
        #expect(uefi["boot_path"] as? [String: String] == ["firmware": "uefi", "loader": "snponly.efi"], "\(uefi)")
        #expect((uefi["platform"] as? [String: Any])?["firmware"] as? String == "uefi", "\(uefi)")
        #expect((uefi["platform"] as? [String: Any])?["secureboot"] as? Bool != true, "OVMF without Secure Boot: \(uefi)")
        for n in ["lab1", "lab2"] {
            let serial = (try? String(contentsOfFile: "\(dir)/lab/\(n).serial.log", encoding: .utf8)) ?? ""
            #expect(serial.contains("Debian GNU/Linux 12 \(n) ttyS0"), "\(n) did not get its name from DHCP")
            #expect(serial.contains("/ is an overlay") && serial.contains("read-only NFS root"), "\(n) has no overlay root")
        }
        let cluster = try home.run(["cluster", "status", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(cluster.stdout.utf8)) as? [String: Any]
        let all = report?["nodes"] as? [[String: Any]] ?? []
        let nodes = all.filter { ($0["hostname"] as? String)?.hasPrefix("lab") == true }
        #expect(all.contains { $0["hostname"] as? String == "spare1" && $0["state"] as? String == "discoverable" }, "\(cluster.stdout)")
        #expect(nodes.count == 2 && nodes.allSatisfy { $0["state"] as? String == "ready" }, "\(cluster.stdout)")
        #expect(nodes.allSatisfy { ($0["cores_max"] as? Int ?? 0) > 0 && ($0["memory_mib_max"] as? Int ?? 0) > 0 }, "\(cluster.stdout)")
        #expect(nodes.allSatisfy { $0["image"] as? String == "default/g1" }, "\(cluster.stdout)")
        #expect(Set(nodes.compactMap { $0["firmware"] as? String }) == ["bios", "uefi"], "\(cluster.stdout)")

        // 2. A small VM placed on a node with room; its controller starts it, then stops it.
        let run = try home.run(["instance", "run", "--type", "m1.small", "--json"])
        try #require(run.status == 0, "\(run.stderr)")
        let instanceID = try #require((try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["id"] as? String)
        let running = waitFor(300, every: 1) { (try? home.run(["instance", "list", "--json"]))?.objects.contains { $0["state"] as? String == "running" } == true }
        step("instance running")
        #expect(running, "instance \(instanceID) never ran: \((try? home.run(["instance", "list"]))?.stdout ?? "")")
        #expect(try home.run(["instance", "terminate", instanceID]).status == 0)
        // As long as the start may take: the instance is a nested TCG VM on a one-vCPU TCG node, which can starve its controller.
        let stopped = waitFor(300, every: 1) { (try? home.run(["instance", "list", "--json"]))?.objects.contains { $0["state"] as? String == "terminated" } == true }
        step("instance terminated")
        let notStopped = stopped ? "" : "instance \(instanceID) was not terminated: \((try? home.run(["instance", "list"]))?.stdout ?? "")\n"
            + "\((try? home.run(["node", "show", "lab1"]))?.stdout ?? "")\n\(diagnostics(dir))"
        #expect(stopped, "\(notStopped)")

        // 3. A new generation; lab1 reboots onto it, lab2 stays on g1, which cannot be removed.
        let build = try home.run(["image", "build", "--node-controller", controller])
        try #require(build.status == 0, "\(build.stderr.suffix(3000))")
        #expect(build.stdout.contains("active generation: g2"), "\(build.stdout)")
        step("g2 built")
        #expect(try home.run(["lab", "reboot", "lab1"]).status == 0)
        let rebooted = waitFor(400, every: 1) {
            let s = (try? home.run(["node", "show", "lab1", "--json"]))?.object ?? [:]
            return s["image"] as? String == "default/g2" && s["state"] as? String == "ready"
        }
        step("lab1 back on g2")
        #expect(rebooted, "lab1 did not come back on g2")
        let lab2 = try home.run(["node", "show", "lab2", "--json"])
        #expect(lab2.object["image"] as? String == "default/g1" && lab2.object["state"] as? String == "ready", "\(lab2.stdout)")
        let rm = try home.run(["image", "rm", "g1"])
        #expect(rm.status == FailureKind.conflict.exitCode && rm.stderr.contains("in use by lab2"), "\(rm.status) \(rm.stderr)")

        // 4. A new machine nobody registered, plugged in: it takes spare1, gets that name, and enrolls by itself.
        let plug = try home.run(["lab", "plug", "--mac", "52:54:00:99:99:01", "--timeout", "420"])
        step("plugged machine joined")
        #expect(plug.status == 0 && plug.stdout.contains("joined the cluster as spare1"), "\(plug.stdout)\(plug.stderr.suffix(3000))")
        let plugged = (try? String(contentsOfFile: "\(dir)/lab/plug1.serial.log", encoding: .utf8)) ?? ""
        #expect(plugged.contains("Debian GNU/Linux 12 spare1 ttyS0"), "the plugged machine did not get the name spare1 from DHCP")
        let spare = try home.run(["node", "show", "spare1", "--json"])
        #expect(spare.object["mac"] as? String == "52:54:00:99:99:01" && spare.object["state"] as? String == "ready", "\(spare.stdout)")
        #expect(!(try home.run(["node", "discovered", "--json"]).objects.contains { $0["mac"] as? String == "52:54:00:99:99:01" }), "accepted, so not left in discovery")

        // 5. lab down stops everything it started.
        let ns = try #require(try labNamespace(dir))
        let state = try #require(Lab(home: dir).state(), "lab.json is not a lab state")
        let down = try home.run(["lab", "down"])
        #expect(down.status == 0, "\(down.stderr)")
        let pids = state.nodes.map(\.pid) + [state.servePID]
        #expect(pids.count == 4)
        for pid in pids { #expect(kill(pid, 0) != 0, "pid \(pid) still running after lab down") }
        #expect(!(try runProcess("/usr/sbin/ip", ["netns", "list"])).stdout.contains(ns), "namespace \(ns) left behind")
        failed = false
    }

    func labNamespace(_ dir: String) throws -> String? {
        Lab(home: dir).state()?.namespace
    }

    /// The tails of the serial logs and of the dnsmasq, ganesha and serve logs.
    func diagnostics(_ dir: String) -> String {
        var out = "=== lab diagnostics\n"
        for f in ["lab/lab1.serial.log", "lab/lab2.serial.log", "lab/plug1.serial.log", "lab/serve.log", "run/provisioner/dnsmasq.log", "run/provisioner/ganesha.log"] {
            let text = (try? String(contentsOfFile: dir + "/" + f, encoding: .utf8)) ?? "(none)"
            out += "--- \(f)\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n") + "\n"
        }
        return out
    }
}
}
