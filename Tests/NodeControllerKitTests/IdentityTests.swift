import Foundation
import Testing
@testable import NodeControllerKit

@Suite struct IdentityTests {
    let addresses: (String) -> String? = { ["eth0": "10.0.0.99", "eth1": "10.0.0.21"][$0] }

    func settings(_ cmdline: String, config: String = "") -> ControllerSettings {
        ControllerSettings(options: ControllerOptions(), boot: BootParameters(commandLine: KernelCommandLine(cmdline)),
                           config: ConfigFile(text: config))
    }

    @Test func bootIFPicksItsInterface() throws {
        let host = fixtureHost("kvm-node")
        let boot = try BootParameters.load(path: host.cmdline)
        let s = ControllerSettings(options: ControllerOptions(), boot: boot, config: ConfigFile(text: ""))
        let (id, warnings) = IdentityResolver.resolve(settings: s, host: host, addressOf: addresses, hostname: "node1")
        #expect(id == NodeIdentity(mac: "52:54:00:12:34:56", interface: "eth1", ip: "10.0.0.21", hostname: "node1", rule: "BOOTIF 52:54:00:12:34:56"))
        #expect(warnings.isEmpty)
    }

    @Test func withoutBOOTIFTheNFSRootInterfaceWins() {
        // kvm-node: default route on eth0, but the initramfs configured eth1 for the root.
        let (id, _) = IdentityResolver.resolve(settings: settings("ip=dhcp"), host: fixtureHost("kvm-node"), addressOf: addresses, hostname: "n")
        #expect(id.interface == "eth1")
        #expect(id.mac == "52:54:00:12:34:56")
        #expect(id.rule.contains("NFS root"))
    }

    @Test func ipDeviceBeatsNFSRootAndConfigBeatsBoth() {
        let host = fixtureHost("kvm-node")
        let (byIP, _) = IdentityResolver.resolve(settings: settings("ip=::::n:eth0:dhcp"), host: host, addressOf: addresses, hostname: "n")
        #expect(byIP.interface == "eth0")
        #expect(byIP.rule == "ip= device on the kernel command line")
        let (byConfig, _) = IdentityResolver.resolve(settings: settings("ip=::::n:eth1:dhcp", config: "interface=eth0"), host: host, addressOf: addresses, hostname: "n")
        #expect(byConfig.interface == "eth0")
        #expect(byConfig.rule == "interface from config file")
    }

    @Test func defaultRouteWhenNothingElse() {
        let (id, warnings) = IdentityResolver.resolve(settings: settings(""), host: fixtureHost("pvm-vm"), addressOf: { _ in "192.0.2.2" }, hostname: "vm")
        #expect(id == NodeIdentity(mac: "02:fc:00:00:00:01", interface: "eth0", ip: "192.0.2.2", hostname: "vm", rule: "interface of the default route"))
        #expect(warnings.isEmpty)
    }

    @Test func unknownBOOTIFKeepsTheMACAndSaysSo() {
        let (id, warnings) = IdentityResolver.resolve(settings: settings("BOOTIF=01-de-ad-be-ef-00-01"), host: fixtureHost("pvm-vm"),
                                                     addressOf: { _ in nil }, hostname: "vm")
        #expect(id.mac == "de:ad:be:ef:00:01")
        #expect(id.interface == "eth0")
        #expect(id.ip == nil)
        #expect(warnings.contains { $0.contains("no interface under") && $0.contains("de:ad:be:ef:00:01") })
        #expect(warnings.contains { $0 == "interface eth0 has no IPv4 address" })
    }

    @Test func loopbackOnlyHostHasNoIdentity() {
        let (id, warnings) = IdentityResolver.resolve(settings: settings(""), host: fixtureHost("bare"), addressOf: { _ in nil }, hostname: "x")
        #expect(id.mac == nil && id.interface == nil && id.ip == nil)
        #expect(id.rule == "no interface found")
        #expect(warnings.count == 1)
    }

    @Test func realInterfacesOfThisHost() {
        #expect(InterfaceAddresses.ipv4("lo") == "127.0.0.1")
        #expect(InterfaceAddresses.ipv4("no-such-if0") == nil)
        #expect(!InterfaceAddresses.hostname().isEmpty)
        // The real /sys and /proc: whatever the rule, the result is consistent.
        let (id, _) = IdentityResolver.resolve(settings: settings(""), host: HostPaths())
        if let mac = id.mac { #expect((try? MACText.canonical(mac)) == mac) }
    }

    @Test func hostProbeReadsFixtures() {
        let kvm = HostProbe(paths: fixtureHost("kvm-node"))
        #expect(kvm.cpuCount() == 4)
        #expect(kvm.memoryMiB()?.total == 15936)
        #expect(kvm.memoryMiB()?.available == 12288)
        #expect(kvm.uptimeSeconds() == 1234.56)
        #expect(kvm.kvmProblems().isEmpty)

        let pvm = HostProbe(paths: fixtureHost("pvm-vm")).kvmProblems()
        #expect(pvm.count == 2)
        #expect(pvm.contains { $0.hasPrefix("no vmx/svm flag") })
        #expect(pvm.contains { $0 == "kvm_intel/kvm_amd module not loaded (only kvm_pvm)" })

        let bare = HostProbe(paths: fixtureHost("bare"))
        #expect(bare.kvmProblems().count == 3)
        #expect(bare.kvmProblems().contains { $0.hasSuffix("dev/kvm is missing") })
        #expect(bare.kvmProblems().contains { $0.contains("(no kvm module at all)") })
        #expect(bare.memoryMiB() == nil)

        let down = bare.capacityWithoutLibvirt(scratchDir: "/nonexistent", reason: "libvirt is unreachable at x: y")
        #expect(down.hypervisor == .none && !down.hardwareVirtualization && down.libvirtVersion == nil)
        #expect(down.coresMax == 1 && down.diskMiBMax > 0)
    }
}
