import Foundation
import Testing
import TestSupport

extension TestNetwork {
    /// Runs Tests/tools/dhcp_probe.py in the client namespace from `mac` with `args`; returns every answer.
    func dhcpProbe(mac: String, _ args: String) throws -> [[String: Any]] {
        let r = try exec(client, "python3 \(SystemTests.ServeTests.probeScript) --iface \(clientIf) --mac \(mac) \(args)")
        guard r.status == 0, let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] else {
            throw TestFailure("dhcp_probe \(mac) \(args): \(r.status) \(r.stdout) \(r.stderr)")
        }
        return list
    }
}

extension SystemTests {
@Suite(.serialized) struct NetnsDHCPTests {
    /// The applied config runs in the real dnsmasq; a real DHCP client with a
    /// registered MAC gets exactly its hostname, IP and boot file; TFTP serves
    /// pxelinux and that MAC's config; a node added while dnsmasq runs gets its
    /// address with dnsmasq never restarted.
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func realDnsmasqServesRegisteredNodes() throws {
        let net = try TestNetwork(serverIP: "10.99.0.1", prefix: 24)
        defer { net.close() }
        let home = try Home(["--interface", net.serverIf, "--server-ip", "10.99.0.1", "--subnet", "10.99.0.0/24", "--dhcp-range", "10.99.0.200-10.99.0.220"])
        try #require(try home.run(["node", "add", "n1", "--mac", "02:99:00:00:00:01"]).status == 0)
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")
        let run = try net.startDnsmasq(home)
        let pidFile = run + "/dnsmasq.pid"
        let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let lease1 = try dhcp(net, mac: "02:99:00:00:00:01", home: home)
        #expect(lease1["ip"] == "10.99.0.2", "\(lease1) \(log(run))")
        #expect(lease1["hostname"] == "n1")
        #expect(lease1["boot_file"] == "pxelinux.0")
        #expect(lease1["siaddr"] == "10.99.0.1")

        // TFTP: the boot loader and this MAC's pxelinux config, byte for byte.
        let got = home.dir + "/got"
        var r = try net.exec(net.client, "busybox tftp -g -r pxelinux.0 -l \(got) 10.99.0.1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: got) == FileManager.default.contents(atPath: "/usr/lib/PXELINUX/pxelinux.0"))
        r = try net.exec(net.client, "busybox tftp -g -r pxelinux.cfg/01-02-99-00-00-00-01 -l \(got) 10.99.0.1")
        #expect(r.status == 0, "\(r.stderr)")
        let cfg = try String(contentsOfFile: got, encoding: .utf8)
        #expect(cfg.contains("BOOTIF=01-02-99-00-00-00-01") && cfg.contains("nfsroot=10.99.0.1:"))

        // A node added while dnsmasq runs: its own files only, no restart.
        let add = try home.run(["node", "add", "n2", "--mac", "02:99:00:00:00:02"])
        #expect(add.status == 0 && add.stdout.contains("boot files: 3 written"), "\(add.stdout)\(add.stderr)")
        let lease2 = try dhcp(net, mac: "02:99:00:00:00:02", home: home)
        #expect(lease2["ip"] == "10.99.0.3", "\(lease2) \(log(run))")
        #expect(lease2["hostname"] == "n2")
        #expect(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == pid)
        #expect(kill(pid_t(pid) ?? 0, 0) == 0, "dnsmasq still running")

        // An unregistered MAC gets a dynamic address, not a node's.
        let unknown = try dhcp(net, mac: "02:99:00:00:00:77", home: home)
        #expect(unknown["ip"]?.hasPrefix("10.99.0.2") == true && unknown["ip"] != "10.99.0.2", "\(unknown)")
        #expect(unknown["hostname"] == nil)

        // The whole tree still matches what a full apply would write.
        let dry = try home.run(["apply", "--dry-run", "--json"])
        #expect(dry.object["changed"] as? Int == 0 && dry.object["added"] as? Int == 0 && dry.object["removed"] as? Int == 0, "\(dry.stdout)")
    }

    /// Runs busybox udhcpc with `mac` in the client namespace; returns what the server answered.
    func dhcp(_ net: TestNetwork, mac: String, home: Home) throws -> [String: String] {
        try net.exec(net.client, "ip addr flush dev \(net.clientIf)")
        try net.exec(net.client, "ip link set \(net.clientIf) down")
        try net.exec(net.client, "ip link set \(net.clientIf) address \(mac)")
        try net.exec(net.client, "ip link set \(net.clientIf) up")
        let out = home.dir + "/lease-\(mac.replacingOccurrences(of: ":", with: ""))"
        let script = home.dir + "/udhcpc.sh"
        try """
            #!/bin/sh
            [ "$1" = bound ] || exit 0
            ip addr add "$ip/${mask:-24}" dev "$interface"
            { echo "ip=$ip"; [ -n "$hostname" ] && echo "hostname=$hostname"; echo "boot_file=$boot_file"; echo "siaddr=$siaddr"; } > "\(out)"
            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let r = try net.exec(net.client, "busybox udhcpc -i \(net.clientIf) -n -q -f -t 6 -T 1 -O hostname -s \(script)")
        guard r.status == 0, let text = try? String(contentsOfFile: out, encoding: .utf8) else {
            throw TestFailure("udhcpc got no lease for \(mac): \(r.stderr)")
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        return fields
    }

    func log(_ run: String) -> String {
        (try? String(contentsOfFile: run + "/dnsmasq.log", encoding: .utf8)).map { String($0.suffix(2000)) } ?? "(no dnsmasq log)"
    }
}
}

/// The boot file the real dnsmasq hands each firmware, for each loader a
/// profile can choose: a probe in a client namespace sends what BIOS PXE
/// (client-arch 0), UEFI PXE (7; 9 as some firmware and iPXE's EFI build
/// send), UEFI HTTP Boot (16 with the `HTTPClient` vendor class) and iPXE
/// (option 175) send, from the MAC of a node of each profile.
extension SystemTests {
@Suite(.serialized) struct FirmwareDHCPTests {
    @Test(.enabled(if: TestNetwork.unavailableReason == nil, "\(TestNetwork.unavailableReason ?? "")"))
    func eachFirmwareGetsItsLoader() throws {
        let serverIP = "10.96.0.1"
        let net = try TestNetwork(serverIP: serverIP, prefix: 24)
        defer { net.close() }
        let home = try Home(["--interface", net.serverIf, "--server-ip", serverIP, "--subnet", "10.96.0.0/24", "--dhcp-range", "10.96.0.200-10.96.0.220"])
        var yaml = try String(contentsOfFile: home.config, encoding: .utf8)
        yaml += """
              sb:
                image: default
                loader: secureboot
              ipxe:
                image: default
                loader: ipxe
              drivers:
                image: default
                loader: ipxe-drivers

            """
        try yaml.write(toFile: home.config, atomically: true, encoding: .utf8)
        let nodes = [("auto1", "02:96:00:00:00:01", "default"), ("sb1", "02:96:00:00:00:02", "sb"),
                     ("ipxe1", "02:96:00:00:00:03", "ipxe"), ("drv1", "02:96:00:00:00:04", "drivers")]
        for (name, mac, profile) in nodes {
            let r = try home.run(["node", "add", name, "--mac", mac, "--profile", profile])
            try #require(r.status == 0, "\(r.stderr)")
        }
        let apply = try home.run(["apply"])
        try #require(apply.status == 0, "\(apply.stderr)")
        _ = try net.startDnsmasq(home)

        func offer(_ mac: String, _ args: String) throws -> [String: Any] {
            try net.exec(net.client, "ip link set \(net.clientIf) address \(mac)")
            guard let first = try net.dhcpProbe(mac: mac, "--expect 1 \(args)").first else { throw TestFailure("no answer to \(mac) \(args)") }
            return first
        }
        let http = "--arch 16 --vendor-class HTTPClient:Arch:00016:UNDI:003001"
        let loaders = "http://\(serverIP):8080/loaders"
        // (request, node) → boot file, for every firmware and every loader.
        let expected: [(String, String, String)] = [
            ("--arch 0", "auto1", "pxelinux.0"), ("--arch 0", "sb1", "pxelinux.0"),
            ("--arch 0", "ipxe1", "undionly.kpxe"), ("--arch 0", "drv1", "undionly.kpxe"),
            ("--arch 7", "auto1", "snponly.efi"), ("--arch 9", "auto1", "snponly.efi"), ("--arch 7", "sb1", "shimx64.efi"),
            ("--arch 7", "ipxe1", "snponly.efi"), ("--arch 7", "drv1", "ipxe.efi"),
            (http, "auto1", "\(loaders)/snponly.efi"), (http, "sb1", "\(loaders)/shimx64.efi"),
            (http, "ipxe1", "\(loaders)/snponly.efi"), (http, "drv1", "\(loaders)/ipxe.efi"),
            ("--arch 9 --ipxe", "auto1", "http://\(serverIP):8080/boot.ipxe"), ("--arch 0 --ipxe", "sb1", "http://\(serverIP):8080/boot.ipxe"),
        ]
        for (args, name, file) in expected {
            let mac = nodes.first { $0.0 == name }!.1
            let answer = try offer(mac, args)
            // In option 67 (the probe asks for it, as firmware does) or in the header's file field.
            #expect((answer["bootfile_option"] as? String ?? answer["file"] as? String) == file, "\(args) from \(name): \(answer)")
            // HTTP Boot takes an offer only when it says HTTPClient back; nobody else is told that.
            let isHTTP = args.contains("HTTPClient")
            #expect((answer["vendor_class"] as? String == "HTTPClient") == isHTTP, "\(args) from \(name): \(answer)")
            if !isHTTP && !args.contains("--ipxe") { #expect(answer["siaddr"] as? String == serverIP, "\(args) from \(name): \(answer)") }
        }
        // Every loader a firmware is told to fetch is there: over TFTP, and over HTTP for HTTP Boot.
        let tftp = home.dir + "/tftp"
        for file in ["pxelinux.0", "undionly.kpxe", "snponly.efi", "ipxe.efi", "shimx64.efi", "grubx64.efi"] {
            #expect(FileManager.default.fileExists(atPath: tftp + "/" + file), "\(file) is not in the TFTP root")
        }
        for file in ["snponly.efi", "ipxe.efi", "shimx64.efi", "grubx64.efi"] {
            #expect(FileManager.default.fileExists(atPath: home.dir + "/http/loaders/" + file), "\(file) is not served for HTTP Boot")
        }
        // The Secure Boot node's GRUB config, fetched over TFTP as GRUB does.
        try net.exec(net.client, "ip addr add 10.96.0.50/24 dev \(net.clientIf)")
        let got = home.dir + "/got"
        let r = try net.exec(net.client, "busybox tftp -g -r grub/grub.cfg-01-02-96-00-00-00-02 -l \(got) \(serverIP)")
        #expect(r.status == 0, "\(r.stderr)")
        let cfg = (try? String(contentsOfFile: got, encoding: .utf8)) ?? ""
        #expect(cfg.contains("linux (tftp,\(serverIP))/images/default/") && cfg.contains("BOOTIF=01-02-96-00-00-00-02"), "\(cfg)")
        #expect(!FileManager.default.fileExists(atPath: home.dir + "/tftp/grub/grub.cfg-01-02-96-00-00-00-01"), "an auto node got a GRUB config")
    }
}
}
