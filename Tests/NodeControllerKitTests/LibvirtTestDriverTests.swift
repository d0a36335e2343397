import CLibvirt
import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// LibvirtHypervisor against libvirt's `test:///default` driver: no daemon, in process.
/// All connections in a process share its state, so these run one at a time.
@Suite(.serialized) final class LibvirtTestDriverTests {
    let logDir: String
    let hv: LibvirtHypervisor
    let capture = LogCapture()

    init() throws {
        logDir = try makeTempDir("tdrv")
        hv = LibvirtHypervisor(configuration: .init(uri: "test:///default", scratchDir: logDir, consoleLogDir: logDir + "/console"),
                               log: capture.log)
    }

    deinit { try? FileManager.default.removeItem(atPath: logDir) }

    func uniqueID(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    @Test func capacityFromTheDriver() throws {
        let c = hv.capacity()
        // The test driver's fake host: 16 CPUs, 3 GiB, and only domain type "test".
        #expect(c.coresMax == 16 && c.coresFree > 0 && c.coresFree <= c.coresMax)
        #expect(c.memoryMiBMax == 3072)
        // The test driver returns free memory in KiB where the API says bytes: 3 MiB here.
        #expect(c.memoryMiBFree > 0 && c.memoryMiBFree <= c.memoryMiBMax)
        #expect(c.diskMiBMax > 0 && c.diskMiBFree > 0 && c.diskMiBFree <= c.diskMiBMax)
        #expect(c.libvirtVersion?.split(separator: ".").count == 3)
        #expect(c.libvirtVersion?.first?.isNumber == true)
        #expect(c.hypervisor == .none)
        #expect(!c.hardwareVirtualization)
        #expect(c.hardwareVirtualizationReason?.contains("libvirt offers no qemu domain type (only domain type test)") == true)
        #expect(capture.contains("connected to libvirt at test:///default (libvirt 9."))
        let v = try hv.virtualization()
        #expect(v.domainType == "test" && v.arch == "i686")
    }

    @Test func defineStartListTerminate() throws {
        let before = hv.capacity()
        let id = uniqueID("web")
        try hv.start(InstanceSpec(id: id, vcpus: 2, memoryMiB: 256, kernel: "/boot/vmlinuz", initrd: "/boot/initrd.img", cmdline: "console=ttyS0"))
        defer { try? hv.terminate(id: id) }
        let listed = try hv.instances()
        #expect(listed.contains(InstanceStatus(id: id, state: .running, vcpus: 2, memoryMiB: 256)))
        // Only its own domains: the driver's built-in "test" domain is not listed.
        #expect(!listed.contains { $0.id == "test" || $0.id.isEmpty })
        let during = hv.capacity()
        #expect(during.coresFree == before.coresFree - 2)

        let xml = try hv.domainXML(id: id)
        #expect(xml.contains("<name>prov-\(id)</name>"))
        #expect(xml.contains("<kernel>/boot/vmlinuz</kernel>"))
        #expect(xml.contains("<cmdline>console=ttyS0</cmdline>"))
        #expect(!xml.contains("<interface"))

        #expect(throws: ControllerError.self) {
            try hv.start(InstanceSpec(id: id, vcpus: 1, memoryMiB: 64, kernel: "/k"))
        }
        try hv.terminate(id: id)
        #expect(try !hv.instances().contains { $0.id == id })
        #expect(hv.capacity().coresFree == before.coresFree)
        // Terminating what is not there is not an error, nor is a malformed id.
        try hv.terminate(id: id)
        try hv.terminate(id: "no/such")
    }

    @Test func hostileIDAndCmdlineRoundTripThroughLibvirt() throws {
        let id = #"x'y"<z>&"# + UUID().uuidString.prefix(4)
        let cmdline = DomainXMLTests.hostileCmdline
        try hv.start(InstanceSpec(id: String(id), vcpus: 1, memoryMiB: 64, kernel: "/boot/vmlinuz", cmdline: cmdline))
        defer { try? hv.terminate(id: String(id)) }
        // libvirt stored exactly our id and cmdline as text, not as markup.
        #expect(try hv.instances().contains { $0.id == id && $0.state == .running })
        let xml = try hv.domainXML(id: String(id))
        #expect(!xml.contains("<interface"))
        #expect(xml.contains("&lt;/cmdline&gt;&lt;/os&gt;&lt;devices&gt;"))
        #expect(xml.components(separatedBy: "<cmdline>").count == 2)
        try hv.terminate(id: String(id))
        #expect(try !hv.instances().contains { $0.id == id })
    }

    @Test func badSpecDefinesNothing() throws {
        let before = try hv.instances()
        #expect(throws: ControllerError.self) { try hv.start(InstanceSpec(id: "bad", vcpus: 0, memoryMiB: 64, kernel: "/k")) }
        #expect(try hv.instances() == before)
    }

    /// A disk outside the disk directory, or a link or device inside it, is refused before libvirt.
    @Test func aDiskOutsideTheDiskDirectoryOrNotAFileIsRefused() throws {
        let before = try hv.instances()
        let link = logDir + "/to-a-device.img"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/null")
        defer { try? FileManager.default.removeItem(atPath: link) }
        let linkedDir = logDir + "/etc"
        try? FileManager.default.removeItem(atPath: linkedDir)
        try FileManager.default.createSymbolicLink(atPath: linkedDir, withDestinationPath: "/etc")
        defer { try? FileManager.default.removeItem(atPath: linkedDir) }
        for (disk, message) in [("/dev/sda", "is not below the node's disk directory"), (logDir + "/../escape.img", "is not below"),
                                (link, "is not a regular file"), (linkedDir + "/shadow", "does not resolve below the disk directory")] {
            #expect { try hv.start(InstanceSpec(id: uniqueID("disk"), vcpus: 1, memoryMiB: 64, disk: disk)) } throws: { "\($0)".contains(message) }
        }
        #expect(try hv.instances() == before)
    }

    @Test func statesOfADefinedButStoppedDomainAreReported() throws {
        let id = uniqueID("stop")
        try hv.start(InstanceSpec(id: id, vcpus: 1, memoryMiB: 64, disk: logDir + "/x.img"))
        defer { try? hv.terminate(id: id) }
        // Stop it behind the controller's back through a second connection.
        let other = LibvirtHypervisor(configuration: .init(uri: "test:///default", consoleLogDir: logDir), log: .silent)
        try other.withConnection { c in
            let d = try #require(virDomainLookupByName(c, "prov-" + id))
            defer { virDomainFree(d) }
            #expect(virDomainDestroy(d) == 0)
        }
        #expect(try hv.instances().first { $0.id == id }?.state == .shutoff)
    }
}

@Suite struct LibvirtUnreachableTests {
    @Test func unreachableLibvirtFallsBackToTheHost() throws {
        let capture = LogCapture()
        let uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
        let hv = LibvirtHypervisor(configuration: .init(uri: uri, scratchDir: "/"), log: capture.log)
        let c = hv.capacity()
        #expect(c.hypervisor == .none && !c.hardwareVirtualization && c.libvirtVersion == nil)
        #expect(c.coresMax > 0 && c.memoryMiBMax > 0 && c.diskMiBMax > 0)
        let reason = try #require(c.hardwareVirtualizationReason)
        #expect(reason.hasPrefix("libvirt is unreachable at \(uri): "))
        #expect(reason.contains("/nonexistent/libvirt-sock"))
        #expect {
            try hv.instances()
        } throws: { error in
            (error as? LibvirtError)?.operation == "connecting to libvirt at \(uri)"
        }
        _ = hv.capacity()
        // One warning per new failure, not one per call.
        #expect(capture.lines.filter { $0.hasPrefix("warning: connecting to libvirt") }.count == 1)
        #expect(throws: LibvirtError.self) { try hv.start(InstanceSpec(id: "a", vcpus: 1, memoryMiB: 64, kernel: "/k")) }
    }

    @Test func badURIIsAnErrorWithLibvirtsMessage() {
        let hv = LibvirtHypervisor(configuration: .init(uri: "test:///nonexistent/config.xml"), log: .silent)
        #expect {
            try hv.instances()
        } throws: { error in
            guard let e = error as? LibvirtError else { return false }
            return !e.message.isEmpty && e.code > 0
        }
    }
}
