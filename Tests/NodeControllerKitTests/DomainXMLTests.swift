import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

@Suite struct DomainXMLTests {
    static let hostileID = #"a'b"c<d>e&f"#
    static let hostileCmdline = #"console=ttyS0 </cmdline></os><devices><interface type='bridge'><source bridge="br0"/></interface></devices><os><cmdline>x"#

    @Test func everyValueIsEscaped() {
        let spec = InstanceSpec(id: Self.hostileID, vcpus: 2, memoryMiB: 256, kernel: "/k'&<>\"", initrd: "/i<", cmdline: Self.hostileCmdline)
        let xml = DomainXML(domainType: "qemu", arch: "x86_64", name: "prov-" + Self.hostileID, consoleLog: "/log/'x'").render(spec)
        #expect(xml.contains("<name>prov-a&apos;b&quot;c&lt;d&gt;e&amp;f</name>"))
        #expect(xml.contains("<kernel>/k&apos;&amp;&lt;&gt;&quot;</kernel>"))
        #expect(xml.contains("<source path='/log/&apos;x&apos;'/>"))
        #expect(xml.contains("&lt;/cmdline&gt;&lt;/os&gt;&lt;devices&gt;&lt;interface type=&apos;bridge&apos;&gt;"))
        // The only markup is ours: no injected element survived.
        #expect(!xml.contains("<interface"))
        #expect(xml.components(separatedBy: "<cmdline>").count == 2)
        #expect(xml.components(separatedBy: "</os>").count == 2)
    }

    @Test func kernelBootDiskBootAndDomainTypes() {
        let kernel = DomainXML(domainType: "kvm", arch: "x86_64", name: "prov-k", consoleLog: "/l")
            .render(InstanceSpec(id: "k", vcpus: 1, memoryMiB: 64, kernel: "/boot/vmlinuz"))
        #expect(kernel.hasPrefix("<domain type='kvm'>"))
        #expect(kernel.contains("<cpu mode='host-passthrough'/>"))
        #expect(!kernel.contains("<initrd>") && !kernel.contains("<boot dev"))
        let disk = DomainXML(domainType: "qemu", arch: "x86_64", name: "prov-d", consoleLog: "/l")
            .render(InstanceSpec(id: "d", vcpus: 1, memoryMiB: 64, disk: "/srv/d.qcow2"), diskFormat: "qcow2")
        #expect(disk.contains("<boot dev='hd'/>"))
        #expect(disk.contains("<driver name='qemu' type='qcow2'/>"))
        #expect(!disk.contains("host-passthrough"))
        // No network device of any kind: instances never touch host networking.
        #expect(!disk.contains("<interface") && !kernel.contains("<interface"))
    }

    @Test func consoleLogPathCannotLeaveItsDirectory() {
        #expect(DomainXML.consoleLogPath(directory: "/var/log/x", prefix: "prov-", id: "web-1.a_b") == "/var/log/x/prov-web-1.a_b.log")
        #expect(DomainXML.consoleLogPath(directory: "/d", prefix: "prov-", id: "../../etc/passwd") == "/d/prov-..%2F..%2Fetc%2Fpasswd.log")
        #expect(DomainXML.consoleLogPath(directory: "/d", prefix: "prov-", id: "é 'x'") == "/d/prov-%C3%A9%20%27x%27.log")
    }

    @Test func diskFormatFromMagic() throws {
        let dir = try makeTempDir("fmt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/q", contents: Data([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]))
        _ = FileManager.default.createFile(atPath: dir + "/r", contents: Data(repeating: 0, count: 512))
        #expect(DomainXML.diskFormat(dir + "/q") == "qcow2")
        #expect(DomainXML.diskFormat(dir + "/r") == "raw")
        #expect(DomainXML.diskFormat(dir + "/missing") == "raw")
    }

    @Test(arguments: [
        (InstanceSpec(id: "", vcpus: 1, memoryMiB: 64, kernel: "/k"), "invalid instance id \"\""),
        (InstanceSpec(id: String(repeating: "x", count: 65), vcpus: 1, memoryMiB: 64, kernel: "/k"), "expected 1-64 characters"),
        (InstanceSpec(id: "a/b", vcpus: 1, memoryMiB: 64, kernel: "/k"), "invalid instance id \"a/b\" (contains \"/\")"),
        (InstanceSpec(id: "a\nb", vcpus: 1, memoryMiB: 64, kernel: "/k"), "contains a control character"),
        (InstanceSpec(id: "v", vcpus: 0, memoryMiB: 64, kernel: "/k"), "instance v: invalid vcpus 0"),
        (InstanceSpec(id: "m", vcpus: 1, memoryMiB: 1, kernel: "/k"), "instance m: invalid memoryMiB 1"),
        (InstanceSpec(id: "n", vcpus: 1, memoryMiB: 64), "instance n: neither kernel nor disk given"),
        (InstanceSpec(id: "i", vcpus: 1, memoryMiB: 64, initrd: "/i", disk: "/d"), "initrd/cmdline given without a kernel"),
        (InstanceSpec(id: "u", vcpus: 1, memoryMiB: 64, kernel: "http://10.0.0.1/vmlinuz"), "is not an absolute path on the node"),
        (InstanceSpec(id: "c", vcpus: 1, memoryMiB: 64, kernel: "/k", cmdline: "a\u{1}b"), "instance c: cmdline \"a\\u{01}b\" contains a control character"),
    ])
    func badSpecsAreRefusedBeforeLibvirt(spec: InstanceSpec, message: String) {
        #expect {
            try InstanceSpecRules.validate(spec)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}

/// An instance's disk only below the node's disk directory.
@Suite struct InstanceDiskTests {
    @Test func onlyAPathBelowTheDiskDirectory() {
        let rows: [(String, String, Bool)] = [
            ("/var/lib/libvirt/images/a.qcow2", "/var/lib/libvirt/images", true),
            ("/var/lib/libvirt/images/sub/a.img", "/var/lib/libvirt/images/", true),
            ("/dev/sda", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/images", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/images/", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/images/../../../dev/sda", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/images/./a", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/images//a", "/var/lib/libvirt/images", false),
            ("/var/lib/libvirt/imagesX/a", "/var/lib/libvirt/images", false),
            ("/etc/shadow", "/", false),
        ]
        for (disk, dir, taken) in rows {
            let spec = InstanceSpec(id: "d", vcpus: 1, memoryMiB: 64, disk: disk)
            #expect(((try? InstanceSpecRules.validateDisk(spec, directory: dir)) != nil) == taken, "\(disk) in \(dir)")
        }
        #expect((try? InstanceSpecRules.validateDisk(InstanceSpec(id: "k", vcpus: 1, memoryMiB: 64, kernel: "/k"), directory: "/x")) != nil,
                "a kernel boot has no disk to check")
    }
}

@Suite struct CapabilitiesTests {
    func caps(_ name: String) throws -> LibvirtCapabilities {
        LibvirtCapabilities(xml: try String(contentsOfFile: fixtures + "/capabilities/\(name).xml", encoding: .utf8))
    }

    @Test func parsesGuestsAndDomainTypes() throws {
        let c = try caps("qemu-kvm")
        #expect(c.hostArch == "x86_64")
        #expect(c.guests.map(\.arch) == ["i686", "x86_64"])
        #expect(c.hvmDomainTypes(arch: "x86_64") == ["qemu", "kvm"])
        #expect(c.preferredHVMArch == "x86_64")
    }

    @Test func kvmOnlyWhenLibvirtAndHostAgree() throws {
        let kvm = LibvirtHypervisor.decide(try caps("qemu-kvm"), hostProblems: [])
        #expect(kvm == .init(hypervisor: .kvm, hardware: true, reason: nil, domainType: "kvm", arch: "x86_64"))

        // The lab VM: libvirt offers kvm because /dev/kvm exists, but it is PVM without vmx/svm.
        let pvm = LibvirtHypervisor.decide(try caps("qemu-kvm"), hostProblems: ["no vmx/svm flag in /proc/cpuinfo"])
        #expect(pvm.hypervisor == .qemuTCG && pvm.domainType == "qemu" && !pvm.hardware)
        #expect(pvm.reason == "no vmx/svm flag in /proc/cpuinfo")

        // The Eucalyptus trap: the host looks fine but libvirt has no kvm domain type.
        let trap = LibvirtHypervisor.decide(try caps("qemu-tcg-only"), hostProblems: [])
        #expect(trap.hypervisor == .qemuTCG && trap.domainType == "qemu")
        #expect(trap.reason?.contains("no supported architecture for os type 'hvm'") == true)

        let nothing = LibvirtHypervisor.decide(LibvirtCapabilities(xml: "<capabilities><host></host></capabilities>"), hostProblems: [])
        #expect(nothing.hypervisor == .none && nothing.domainType == nil)
        #expect(nothing.reason?.contains("no hvm guests at all") == true)
        #expect(LibvirtHypervisor.decide(LibvirtCapabilities(xml: "garbage <guest> <<<"), hostProblems: []).hypervisor == .none)
    }

    @Test func stateMapping() {
        typealias H = LibvirtHypervisor
        #expect(H.apiState(state: 1, reason: 1) == .running)
        #expect(H.apiState(state: 2, reason: 0) == .running)
        #expect(H.apiState(state: 3, reason: 0) == .pending)
        #expect(H.apiState(state: 5, reason: 1) == .shutoff)
        #expect(H.apiState(state: 5, reason: 3) == .crashed)
        #expect(H.apiState(state: 5, reason: 6) == .failed)
        #expect(H.apiState(state: 6, reason: 0) == .crashed)
        #expect(H.apiState(state: 0, reason: 0) == .pending)
        #expect(LibvirtRuntime.versionString(9_000_000) == "9.0.0")
        #expect(LibvirtRuntime.versionString(10_010_002) == "10.10.2")
    }
}
