import Foundation
import ProvisionerAPI
import ProvisionerLab
import ProvisionerPlatform
import Testing
import TestSupport

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
        // lab1 boots its root over NFS, lab2 fetches it into RAM (root: ram).
        let up = try home.run(["lab", "up", "--nodes", "2", "--firmware", "bios,uefi", "--root", "nfs,ram", "--cache", ImageBuildTests.cache, "--timeout", "600",
                               "--node-controller", controller, "--spares", "1"])
        try #require(up.status == 0, "lab up failed:\n\(up.stderr.suffix(4000))")
        #expect(up.stdout.contains("boot phases"), "\(up.stdout)")
        // The node's own view of its boot, from systemd on the node, sent with the enrollment.
        let timings = try home.run(["node", "show", "lab1", "--json"]).object["boot_timings"] as? [String: Any] ?? [:]
        #expect((timings["kernel_seconds"] as? Double ?? 0) > 1 && (timings["controller_start_seconds"] as? Double ?? 0) > 0, "\(timings)")
        step("two nodes enrolled")
        // Each node has a TPM (swtpm): its first enrollment bound it to the key its TPM keeps.
        func tpmKey(_ n: String) throws -> String? { try home.run(["node", "tpm", n, "--json"]).object["fingerprint"] as? String }
        let tpmKeys = try ["lab1", "lab2"].map { try tpmKey($0) }
        #expect(tpmKeys.allSatisfy { $0?.hasPrefix("sha256:") == true } && tpmKeys[0] != tpmKeys[1], "\(tpmKeys)")
        // Each firmware took its own path: the server saw it in the DHCP request, the node reports it.
        let bios = try home.run(["node", "show", "lab1", "--json"]).object
        let uefi = try home.run(["node", "show", "lab2", "--json"]).object
        #expect(bios["boot_path"] as? [String: String] == ["firmware": "bios", "loader": "pxelinux.0"], "\(bios)")
        #expect((bios["platform"] as? [String: Any])?["firmware"] as? String == "bios", "\(bios)")
        #expect(uefi["boot_path"] as? [String: String] == ["firmware": "uefi", "loader": "snponly.efi"], "\(uefi)")
        #expect((uefi["platform"] as? [String: Any])?["firmware"] as? String == "uefi", "\(uefi)")
        #expect((uefi["platform"] as? [String: Any])?["secureboot"] as? Bool != true, "OVMF without Secure Boot: \(uefi)")
        for (n, lower) in [("lab1", "read-only NFS root"), ("lab2", "read-only squashfs root image in RAM")] {
            let serial = (try? String(contentsOfFile: "\(dir)/lab/\(n).serial.log", encoding: .utf8)) ?? ""
            #expect(serial.contains("Debian GNU/Linux 12 \(n) ttyS0"), "\(n) did not get its name from DHCP")
            #expect(serial.contains("/ is an overlay") && serial.contains(lower), "\(n) has no overlay over its \(lower)")
        }
        #expect(((try? String(contentsOfFile: "\(dir)/lab/lab2.serial.log", encoding: .utf8)) ?? "").contains("/images/default/g1/root.squashfs into RAM"),
                "lab2 fetched its root image")
        let cluster = try home.run(["cluster", "status", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(cluster.stdout.utf8)) as? [String: Any]
        let all = report?["nodes"] as? [[String: Any]] ?? []
        let nodes = all.filter { ($0["hostname"] as? String)?.hasPrefix("lab") == true }
        #expect(all.contains { $0["hostname"] as? String == "spare1" && $0["state"] as? String == "discoverable" }, "\(cluster.stdout)")
        #expect(nodes.count == 2 && nodes.allSatisfy { $0["state"] as? String == "ready" }, "\(cluster.stdout)")
        #expect(nodes.allSatisfy { ($0["cores_max"] as? Int ?? 0) > 0 && ($0["memory_mib_max"] as? Int ?? 0) > 0 }, "\(cluster.stdout)")
        #expect(nodes.allSatisfy { $0["image"] as? String == "default/g1" }, "\(cluster.stdout)")
        #expect(Set(nodes.compactMap { $0["firmware"] as? String }) == ["bios", "uefi"], "\(cluster.stdout)")

        // 2. A small VM on the RAM-root node, started while the NFS server is frozen: lab2 needs no
        //    server to run QEMU from its root, and keeps its heartbeats (lab1's libvirtd, on NFS, may not answer).
        let ganesha = try #require(ProcessRunner.livePID(fromFile: "\(dir)/run/provisioner/ganesha.pid"), "nfs-ganesha is not running")
        kill(ganesha, SIGSTOP)
        let run = try home.run(["instance", "run", "--type", "m1.small", "--node", "lab2", "--json"])
        let beatBefore = try home.run(["node", "show", "lab2", "--json"]).object["last_heartbeat"] as? String ?? ""
        let instanceID = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["id"] as? String
        let running = run.status == 0 && waitFor(300, every: 1) {
            (try? home.run(["instance", "list", "--json"]))?.objects.contains { $0["id"] as? String == instanceID && $0["state"] as? String == "running" } == true
        }
        let beatAfter = try home.run(["node", "show", "lab2", "--json"]).object["last_heartbeat"] as? String ?? ""
        kill(ganesha, SIGCONT)
        step("instance running on lab2 with the NFS server frozen")
        try #require(run.status == 0, "\(run.stderr)")
        #expect(running, "instance \(instanceID ?? "?") never ran on lab2 without NFS: \((try? home.run(["instance", "list"]))?.stdout ?? "")")
        #expect(beatAfter > beatBefore, "lab2 kept its heartbeats with the NFS server frozen (\(beatBefore) -> \(beatAfter))")

        // 3. A new generation rolled out through the nodes' BMCs (each lab node is behind an ipmi_sim):
        //    first to lab1 alone, a canary pinned to g2 while lab2 stays on g1; then to the rest, one at a time,
        //    the running instance drained first; then g2 is the active generation.
        let build = try home.run(["image", "build", "--node-controller", controller, "--no-activate"])
        try #require(build.status == 0, "\(build.stderr.suffix(3000))")
        step("g2 built")
        let dry = try home.run(["image", "rollout", "g2", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("dry run") && dry.stdout.contains("lab1") && dry.stdout.contains("lab2"), "\(dry.stdout)\(dry.stderr)")
        let canary = try home.run(["image", "rollout", "g2", "--nodes", "lab1", "--grace", "0", "--timeout", "420"])
        step("canary lab1 on g2")
        try #require(canary.status == 0, "canary rollout failed:\n\(canary.stdout)\(canary.stderr.suffix(3000))\n\(diagnostics(dir))")
        let lab1 = try home.run(["node", "show", "lab1", "--json"]).object
        #expect(lab1["image"] as? String == "default/g2" && lab1["generation"] as? String == "g2", "\(lab1)")
        #expect(lab1["drained"] as? Bool == false, "\(lab1)")
        let lab2 = try home.run(["node", "show", "lab2", "--json"])
        #expect(lab2.object["image"] as? String == "default/g1" && lab2.object["state"] as? String == "ready", "\(lab2.stdout)")
        // g2 is not active, but lab1 is pinned to it (and runs it): it cannot be removed.
        let rm = try home.run(["image", "rm", "g2"])
        #expect(rm.status == FailureKind.conflict.exitCode && rm.stderr.contains("in use by lab1"), "\(rm.status) \(rm.stderr)")
        let rest = try home.run(["image", "rollout", "g2", "--batch", "1", "--grace", "0", "--timeout", "420"])
        step("lab2 on g2, g2 active")
        try #require(rest.status == 0, "rollout failed:\n\(rest.stdout)\(rest.stderr.suffix(3000))\n\(diagnostics(dir))")
        #expect(rest.stdout.contains("already runs g2") && rest.stdout.contains("is the active generation"), "\(rest.stdout)")
        // The instance was drained by one of the two rollouts before its node went down.
        #expect((canary.stderr + rest.stderr).contains("1 instance(s) terminated"), "\(canary.stderr)\(rest.stderr)")
        let instances = try home.run(["instance", "list", "--json"]).objects
        #expect(instances.contains { $0["id"] as? String == instanceID && $0["state"] as? String == "terminated" }, "\(instances)")
        for n in ["lab1", "lab2"] {
            let s = try home.run(["node", "show", n, "--json"]).object
            let pinned = s["generation"] as? String
            #expect(s["image"] as? String == "default/g2" && s["state"] as? String == "ready", "\(n): \(s)")
            #expect(pinned == nil, "\(n) still pinned after g2 became active: \(s)")
        }
        #expect(try home.run(["image", "list"]).stdout.contains("g2"), "g2 listed")
        // Rebooted onto g2, each node proved the key it was bound to: the same, nothing refused.
        #expect(try ["lab1", "lab2"].map { try tpmKey($0) } == tpmKeys)
        #expect(try home.run(["audit", "--limit", "10000", "--json"]).stdout.components(separatedBy: "node.tpm.pin").count == 3, "one pin per node, at its first enrollment")

        // 4. A generation whose node controller cannot start: the rollout stops at lab1, puts it back on g2
        //    (power-cycled again, enrolled), and never touches lab2.
        let broken = dir + "/broken-node-controller"
        try "#!/bin/sh\necho 'node-controller: broken on purpose' >&2\nexit 1\n".write(toFile: broken, atomically: true, encoding: .utf8)
        chmod(broken, 0o755)
        let build3 = try home.run(["image", "build", "--node-controller", broken, "--no-activate"])
        try #require(build3.status == 0, "\(build3.stderr.suffix(3000))")
        step("broken g3 built")
        let lab2Before = try home.run(["node", "show", "lab2", "--json"]).object["enrolled_at"] as? String
        let bad = try home.run(["image", "rollout", "g3", "--batch", "1", "--grace", "0", "--timeout", "90", "--json"])
        step("g3 rollout stopped and rolled back")
        #expect(bad.status != 0, "a rollout whose node never came back must fail: \(bad.stdout)")
        let rolled = (try? JSONSerialization.jsonObject(with: Data(bad.stdout.utf8))) as? [String: Any] ?? [:]
        let rolledNodes: [String: [String: Any]] = rolled["nodes"] as? [String: [String: Any]] ?? [:]
        #expect(rolled["status"] as? String == "failed", "\(bad.stdout)\(bad.stderr)")
        let first: [String: Any] = rolledNodes["lab1"] ?? [:]
        let second: [String: Any] = rolledNodes["lab2"] ?? [:]
        let firstNote = first["note"] as? String ?? ""
        #expect(first["state"] as? String == "rolled-back", "\(rolledNodes)")
        #expect(firstNote.contains("did not enroll on g3"), "\(rolledNodes)")
        #expect(second["state"] as? String == "pending", "lab2 was never touched: \(rolledNodes)")
        let back = try home.run(["node", "show", "lab1", "--json"]).object
        let backPinned = back["generation"] as? String
        #expect(back["image"] as? String == "default/g2" && back["state"] as? String == "ready", "\(back)")
        #expect(backPinned == nil && back["drained"] as? Bool == false, "\(back)")
        let after = try home.run(["node", "show", "lab2", "--json"]).object
        #expect(after["image"] as? String == "default/g2" && after["enrolled_at"] as? String == lab2Before, "lab2 was never rebooted: \(after)")
        let list = try home.run(["image", "list", "--json"])
        #expect(list.stdout.contains("\"active\" : true") || list.stdout.contains("\"active\":true"), "\(list.stdout)")

        // 5. A new machine nobody registered, plugged in: it takes spare1, gets that name, and enrolls by itself.
        let plug = try home.run(["lab", "plug", "--mac", "52:54:00:99:99:01", "--timeout", "420"])
        step("plugged machine joined")
        #expect(plug.status == 0 && plug.stdout.contains("joined the cluster as spare1"), "\(plug.stdout)\(plug.stderr.suffix(3000))")
        // The node controller enrolls before getty prints its prompt (it starts as soon as systemd starts jobs).
        let named = waitFor(120, every: 1) {
            ((try? String(contentsOfFile: "\(dir)/lab/plug1.serial.log", encoding: .utf8)) ?? "").contains("Debian GNU/Linux 12 spare1 ttyS0")
        }
        #expect(named, "the plugged machine did not get the name spare1 from DHCP")
        let spare = try home.run(["node", "show", "spare1", "--json"])
        #expect(spare.object["mac"] as? String == "52:54:00:99:99:01" && spare.object["state"] as? String == "ready", "\(spare.stdout)")
        #expect(!(try home.run(["node", "discovered", "--json"]).objects.contains { $0["mac"] as? String == "52:54:00:99:99:01" }), "accepted, so not left in discovery")

        // 6. lab down stops everything it started.
        let ns = try #require(try labNamespace(dir))
        let state = try #require(VirtualLab(home: dir).state(), "lab.json is not a lab state")
        let down = try home.run(["lab", "down"])
        #expect(down.status == 0, "\(down.stderr)")
        let pids = state.nodes.map(\.pid) + [state.servePID]
        #expect(pids.count == 4)
        for pid in pids { #expect(kill(pid, 0) != 0, "pid \(pid) still running after lab down") }
        #expect(!(try runProcess("/usr/sbin/ip", ["netns", "list"])).stdout.contains(ns), "namespace \(ns) left behind")
        failed = false
    }

    func labNamespace(_ dir: String) throws -> String? {
        VirtualLab(home: dir).state()?.namespace
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
