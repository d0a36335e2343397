import Foundation
import Testing
@testable import NodeControllerKit

@Suite struct BootParametersTests {
    @Test func pxelinuxCommandLine() throws {
        let p = try BootParameters.load(path: fixtures + "/cmdline/pxelinux.txt")
        #expect(p.bootMAC == "52:54:00:12:34:56")
        #expect(p.server?.absoluteString == "http://10.0.0.1:8080")
        #expect(p.token == "tok-3f9a")
        #expect(p.image == "default/3")
        #expect(p.ipDevice == nil)
        #expect(p.warnings.isEmpty)
    }

    @Test func iPXECommandLineWithQuotesAndInitArguments() throws {
        let p = try BootParameters.load(path: fixtures + "/cmdline/ipxe.txt")
        #expect(p.bootMAC == "52:54:00:ab:cd:ef")
        #expect(p.server?.absoluteString == "http://10.0.0.1:8080/")
        #expect(p.image == "default/3")
        // Everything after "--" belongs to init, not to us.
        #expect(p.token == "tok-xyz")
        #expect(p.warnings.isEmpty)
    }

    @Test func noBOOTIFButAnIPDevice() throws {
        let p = try BootParameters.load(path: fixtures + "/cmdline/no-bootif.txt")
        #expect(p.bootMAC == nil)
        #expect(p.ipDevice == "eth0")
        #expect(p.token == "tok-7")
    }

    @Test func garbageIsDroppedWithOneWarningEach() throws {
        let p = try BootParameters.load(path: fixtures + "/cmdline/garbage.txt")
        #expect(p.bootMAC == nil)
        #expect(p.server == nil)
        #expect(p.token == nil)
        #expect(p.image == nil)
        #expect(p.warnings.contains { $0.contains("hardware type 06 is not Ethernet") } == false)  // last BOOTIF wins
        #expect(p.warnings.contains { $0.contains("invalid BOOTIF \"===\"") })
        #expect(p.warnings.contains { $0.contains("empty server URL") })
        #expect(p.warnings.contains { $0.contains("provisioner.token= is empty") })
    }

    @Test func binaryAndEmptyFilesDoNotCrash() throws {
        let b = try BootParameters.load(path: fixtures + "/cmdline/binary.bin")
        #expect(b.bootMAC == nil)
        #expect(b.token == nil)
        #expect(!b.warnings.isEmpty)
        let e = try BootParameters.load(path: fixtures + "/cmdline/empty.txt")
        #expect(e == BootParameters(commandLine: KernelCommandLine("")))
        #expect(throws: ControllerError.self) { try BootParameters.load(path: fixtures + "/cmdline/does-not-exist") }
    }

    @Test(arguments: [
        ("BOOTIF=01-aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
        ("BOOTIF=01-AA-BB-CC-DD-EE-0F", "aa:bb:cc:dd:ee:0f"),
        ("BOOTIF=aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"),
        ("BOOTIF=AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff"),
        ("BOOTIF=aabbccddeeff", "aa:bb:cc:dd:ee:ff"),
        ("BOOTIF=01-00-00-00-00-00-01 BOOTIF=01-00-00-00-00-00-02", "00:00:00:00:00:02"),
    ])
    func goodBOOTIF(line: String, mac: String) {
        let p = BootParameters(commandLine: KernelCommandLine(line))
        #expect(p.bootMAC == mac)
        #expect(p.warnings.isEmpty)
    }

    @Test(arguments: [
        ("BOOTIF=06-aa-bb-cc-dd-ee-ff", "hardware type 06 is not Ethernet"),
        ("BOOTIF=01-aa-bb-cc-dd-ee", "expected 01-aa-bb-cc-dd-ee-ff"),
        ("BOOTIF=01-aa-bb-cc-dd-ee-gg", "bad hex digit"),
        ("BOOTIF=", "expected 01-aa-bb-cc-dd-ee-ff"),
        ("BOOTIF=01-00-00-00-00-00-00", "all-zero address"),
        ("BOOTIF=aa:bb-cc:dd:ee:ff", "expected 01-aa-bb-cc-dd-ee-ff"),
        ("provisioner.server=ftp://10.0.0.1/", "invalid server URL \"ftp://10.0.0.1/\""),
        ("provisioner.server=10.0.0.1:8080", "invalid server URL"),
        ("provisioner.server=", "empty server URL"),
        ("provisioner.token=", "provisioner.token= is empty"),
        ("provisioner.image=\"a b\"", "provisioner.image=\"a b\" contains a space"),
        ("provisioner.ca=sha256:abcd", "invalid site CA fingerprint \"sha256:abcd\""),
        ("provisioner.ca=\(String(repeating: "ab", count: 32))", "expected sha256: and 64 hex digits"),
        ("provisioner.ca=sha256:\(String(repeating: "zz", count: 32))", "invalid site CA fingerprint"),
    ])
    func badValueIsDroppedWithWarning(line: String, warning: String) {
        let p = BootParameters(commandLine: KernelCommandLine(line))
        #expect(p.bootMAC == nil && p.server == nil && p.token == nil && p.image == nil && p.caPin == nil)
        #expect(p.warnings.count == 1)
        #expect(p.warnings.first?.contains(warning) == true, "\(p.warnings)")
    }

    @Test func siteCAFingerprint() throws {
        let hex = "00ff" + String(repeating: "1a", count: 30)
        let p = BootParameters(commandLine: KernelCommandLine("provisioner.server=https://10.0.0.1:8443 provisioner.ca=sha256:\(hex.uppercased())"))
        #expect(p.warnings.isEmpty, "\(p.warnings)")
        #expect(p.caPin?.bytes.count == 32 && p.caPin?.bytes.first == 0 && p.caPin?.bytes[1] == 255)
        #expect(p.caPin?.description == "sha256:" + hex)
        #expect(p.server?.absoluteString == "https://10.0.0.1:8443")
    }

    @Test func tokenizerFollowsTheKernel() {
        let c = KernelCommandLine("  quiet  a=1 b= \"c=x y\" d=\"p q\"r\tlast -- init=ignored")
        #expect(c.parameters.map(\.key) == ["quiet", "a", "b", "c", "d", "last"])
        #expect(c.value("quiet") == nil && c.contains("quiet"))
        #expect(c.value("b") == "")
        #expect(c.value("c") == "x y")
        #expect(c.value("d") == "p qr")
        #expect(!c.contains("init"))
    }
}

@Suite struct ConfigAndSettingsTests {
    @Test func configFileParsing() throws {
        let c = ConfigFile.load(path: fixtures + "/node-controller.conf")
        #expect(c["server"] == "http://10.9.9.9:8080")
        #expect(c["token"] == "from-file")
        #expect(c["image"] == "other/1")
        #expect(c["scratch"] == "/srv/scratch")
        #expect(c.warnings.count == 2)
        #expect(c.warnings.contains { $0.hasSuffix(":7: unknown key \"colour\"") })
        #expect(c.warnings.contains { $0.contains(":8: ignoring \"this line has no equals sign\"") })
        #expect(ConfigFile.load(path: fixtures + "/absent.conf") == ConfigFile(text: "", path: fixtures + "/absent.conf"))
    }

    @Test func optionsBeatKernelCommandLineBeatsConfigFile() throws {
        let boot = try BootParameters.load(path: fixtures + "/cmdline/pxelinux.txt")
        let file = ConfigFile.load(path: fixtures + "/node-controller.conf")
        var o = ControllerOptions()
        let merged = ControllerSettings(options: o, boot: boot, config: file)
        #expect(merged.server?.absoluteString == "http://10.0.0.1:8080")
        #expect(merged.sources["server"] == "kernel command line")
        #expect(merged.token == "tok-3f9a")
        #expect(merged.scratchDir == "/srv/scratch")
        #expect(merged.sources["scratch"] == "config file")
        #expect(merged.libvirtURI == "qemu:///system")

        o.server = URL(string: "http://192.0.2.9:1")
        o.token = "opt"
        o.libvirtURI = "test:///default"
        let withOptions = ControllerSettings(options: o, boot: boot, config: file)
        #expect(withOptions.server?.absoluteString == "http://192.0.2.9:1")
        #expect(withOptions.sources["server"] == "option")
        #expect(withOptions.token == "opt")
        #expect(withOptions.libvirtURI == "test:///default")

        let fileOnly = ControllerSettings(options: ControllerOptions(), boot: BootParameters(commandLine: KernelCommandLine("")), config: file)
        #expect(fileOnly.server?.absoluteString == "http://10.9.9.9:8080")
        #expect(fileOnly.token == "from-file")
        #expect(fileOnly.image == "other/1")
        #expect(fileOnly.warnings.count == 2)
    }

    @Test func commandLineOptions() throws {
        let o = try ControllerOptions.parse(["--server", "http://10.0.0.1:8080", "--token=t1", "--cmdline", "/tmp/c",
                                             "--libvirt-uri", "test:///default", "--scratch", "/srv", "--once"])
        #expect(o.mode == .once)
        #expect(o.server?.absoluteString == "http://10.0.0.1:8080")
        #expect(o.token == "t1")
        #expect(o.cmdlinePath == "/tmp/c")
        #expect(o.libvirtURI == "test:///default")
        #expect(o.scratchDir == "/srv")
        #expect(try ControllerOptions.parse(["--report"]).mode == .report)
        #expect(try ControllerOptions.parse([]).mode == .run)
        #expect(try ControllerOptions.parse(["--once", "--help"]).mode == .help)
    }

    @Test(arguments: [
        (["--server"], "option --server needs a value"),
        (["--server", "--once"], "option --server needs a value"),
        (["--server", "gopher://x"], "invalid server URL \"gopher://x\""),
        (["--token="], "--token: empty token"),
        (["--once", "--report"], "exclude each other"),
        (["--once=yes"], "takes no value"),
        (["--frobnicate"], "unknown option \"--frobnicate\""),
        (["server"], "unknown option \"server\""),
    ])
    func badOptions(args: [String], message: String) {
        #expect {
            try ControllerOptions.parse(args)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
