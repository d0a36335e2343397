import Foundation
import Testing
import TestSupport

extension SystemTests {
/// The firmware paths the end-to-end lab does not take, each proven by a
/// real boot: a UEFI HTTP Boot node (its loader over HTTP: dnsmasq's TFTP
/// serves it nothing) and a Secure Boot node (OVMF with Microsoft's and
/// Debian's keys: shim → GRUB → the signed kernel; the node itself reports
/// Secure Boot on) boot and enroll side by side. Then the negative: a Secure
/// Boot machine handed the unsigned iPXE is refused by its firmware and
/// never reaches a kernel, so the chain above really was verified.
@Suite(.serialized) struct FirmwareLabTests {
    @Test(.enabled(if: LabEndToEndTests.unavailableReason == nil, "\(LabEndToEndTests.unavailableReason ?? "")"), .timeLimit(.minutes(20)))
    func httpBootAndSecureBootEnrollAndUnsignedIsRefused() throws {
        let dir = NSTemporaryDirectory() + "provisioner-fwlab-\(UUID().uuidString)"
        let home = Home(existing: dir)
        let controller = try #require(ImageBuildTests.nodeController, "build the static node controller first: make node-controller")
        var failed = true
        let step = StepClock("firmware lab")
        defer {
            if failed { print(diagnostics(dir)) }
            _ = try? home.run(["lab", "down"])
            try? FileManager.default.removeItem(atPath: dir)
        }

        let up = try home.run(["lab", "up", "--nodes", "2", "--firmware", "uefi-http,secureboot", "--cache", ImageBuildTests.cache,
                               "--timeout", "600", "--node-controller", controller])
        try #require(up.status == 0, "lab up failed:\n\(up.stderr.suffix(4000))")
        step("HTTP Boot and Secure Boot nodes enrolled")
        print(up.stdout.split(separator: "\n").filter { $0.contains("firmware") || $0.contains("total") }.joined(separator: "\n"))

        let http = try home.run(["node", "show", "lab1", "--json"]).object
        let secure = try home.run(["node", "show", "lab2", "--json"]).object
        #expect(http["boot_path"] as? [String: String] == ["firmware": "uefi-http", "loader": "snponly.efi"], "\(http)")
        #expect((http["platform"] as? [String: Any])?["firmware"] as? String == "uefi", "\(http)")
        #expect(secure["profile"] as? String == "secureboot", "\(secure)")
        #expect(secure["boot_path"] as? [String: String] == ["firmware": "uefi", "loader": "shimx64.efi"], "\(secure)")
        #expect((secure["platform"] as? [String: Any])?["secureboot"] as? Bool == true, "the node did not report Secure Boot on: \(secure)")
        let serial = (try? String(contentsOfFile: "\(dir)/lab/lab2.serial.log", encoding: .utf8)) ?? ""
        #expect(serial.contains("Welcome to GRUB!") && serial.contains("UEFI Secure Boot is enabled"), "lab2 did not boot the signed chain")

        // TFTP served the HTTP Boot node nothing; it did serve the Secure Boot node (so the check can see TFTP).
        let dnsmasqLog = (try? String(contentsOfFile: "\(dir)/run/provisioner/dnsmasq.log", encoding: .utf8)) ?? ""
        let tftp = dnsmasqLog.split(separator: "\n").filter { $0.contains("dnsmasq-tftp") && $0.contains(" sent ") }
        let httpIP = try #require(http["ip"] as? String), secureIP = try #require(secure["ip"] as? String)
        #expect(!tftp.contains { $0.hasSuffix(" to \(httpIP)") }, "TFTP served the HTTP Boot node: \(tftp.filter { $0.hasSuffix(" to \(httpIP)") })")
        #expect(tftp.contains { $0.contains("shimx64.efi to \(secureIP)") } && tftp.contains { $0.contains("grubx64.efi to \(secureIP)") }, "\(tftp)")

        // The negative: an unregistered Secure Boot machine gets the default loader, the unsigned snponly.efi.
        let plug = try home.run(["lab", "plug", "--firmware", "secureboot", "--mac", "52:54:00:99:99:02", "--timeout", "0"])
        try #require(plug.status == 0, "\(plug.stderr)")
        let plugLog = "\(dir)/lab/plug1.serial.log"
        func plugged() -> String { (try? String(contentsOfFile: plugLog, encoding: .utf8)) ?? "" }
        let refused = waitFor(300, every: 1) { plugged().contains("Access Denied") }
        step("unsigned loader refused")
        #expect(refused, "the firmware did not refuse the unsigned loader")
        #expect(plugged().contains("NBP filename is snponly.efi"), "it was not handed the unsigned iPXE")
        // Long enough for iPXE to have asked for its script and a kernel to have printed its banner, had it run.
        Thread.sleep(forTimeInterval: 20)
        #expect(!plugged().contains("Linux version") && !plugged().contains("iPXE initialising"), "an unsigned loader ran under Secure Boot")
        failed = false
    }

    func diagnostics(_ dir: String) -> String {
        var out = "=== firmware lab diagnostics\n"
        for f in ["lab/lab1.serial.log", "lab/lab2.serial.log", "lab/plug1.serial.log", "lab/serve.log", "run/provisioner/dnsmasq.log"] {
            let text = (try? String(contentsOfFile: dir + "/" + f, encoding: .utf8)) ?? "(none)"
            out += "--- \(f)\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n") + "\n"
        }
        return out
    }
}
}
