@testable import ProvisionerCore
import Testing

/// Firmware paths from DHCP requests, the loader table, and the dnsmasq rules made of them.
struct FirmwareTests {
    @Test func vendorClassesGiveTheFirmwarePath() {
        #expect(FirmwarePath.of(vendorClass: "PXEClient:Arch:00000:UNDI:002001") == .bios)
        #expect(FirmwarePath.of(vendorClass: "PXEClient:Arch:00007:UNDI:003016") == .uefi)
        #expect(FirmwarePath.of(vendorClass: "PXEClient:Arch:00009:UNDI:003010") == .uefi)
        #expect(FirmwarePath.of(vendorClass: "HTTPClient:Arch:00016:UNDI:003001") == .uefiHTTP)
        #expect(FirmwarePath.of(vendorClass: "PXEClient") == .bios)
        // The initramfs' DHCP and anything else is no firmware.
        #expect(FirmwarePath.of(vendorClass: "Linux ipconfig") == nil)
        #expect(FirmwarePath.of(vendorClass: "udhcp 1.35.0") == nil)
    }

    @Test func httpBootIsAFirmwareDHCPNotTheInitramfs() {
        let phase = BootRules.dhcpPhase(action: "add", vendorClass: "HTTPClient:Arch:00016:UNDI:003001", current: nil)
        #expect(phase?.phase == .dhcp && phase?.newBoot == true)
        #expect(BootRules.dhcpPhase(action: "add", vendorClass: "Linux ipconfig", current: nil)?.phase == .dhcpInitramfs)
    }

    @Test func bootPathNamesTheLoaderHandedOut() {
        #expect(BootPath.of(vendorClass: "HTTPClient:Arch:00016", loader: .auto) == BootPath(firmware: .uefiHTTP, loader: "snponly.efi"))
        #expect(BootPath.of(vendorClass: "PXEClient:Arch:00007", loader: .secureboot)?.summary == "uefi → shimx64.efi")
        #expect(BootPath.of(vendorClass: "PXEClient:Arch:00000", loader: .secureboot)?.loader == "pxelinux.0")
        #expect(BootPath.of(vendorClass: nil, loader: .auto) == nil)
    }

    /// What dnsmasq does with the rules: a rule applies when all its tags
    /// hold. For every request (firmware, iPXE or not) from a node of every
    /// loader, exactly one rule applies, so line order cannot matter, and it
    /// names the loader's file.
    @Test func exactlyOneRuleMatchesEveryRequest() {
        let rules = LoaderRule.all(httpURL: "http://10.0.0.1:8080")
        #expect(rules.count == FirmwarePath.allCases.count * BootLoader.allCases.count)
        func matches(_ tags: String, _ set: Set<String>) -> Bool {
            tags.split(separator: ",").allSatisfy { t in
                t.hasPrefix("tag:!") ? !set.contains(String(t.dropFirst(5))) : set.contains(String(t.dropFirst(4)))
            }
        }
        for path in FirmwarePath.allCases {
            for loader in BootLoader.allCases {
                var set: Set<String> = []
                switch path {
                case .bios: break
                case .uefi: set.insert("efi64")
                case .uefiHTTP: set.insert("efihttp")
                }
                if let tag = loader.hostTag { set.insert(tag) }
                let hits = rules.filter { matches($0.tags, set) }
                #expect(hits.count == 1, "\(path) \(loader): \(hits.map(\.tags))")
                #expect(hits.first?.file.hasSuffix(loader.file(for: path)) == true)
                #expect(hits.first?.file.hasPrefix("http://") == (path == .uefiHTTP))
                // iPXE itself matches none of them (its own rule answers it).
                #expect(rules.filter { matches($0.tags, set.union(["ipxe"])) }.isEmpty)
            }
        }
    }

    @Test func theLoaderTable() {
        #expect(BootLoader.auto.file(for: .bios) == "pxelinux.0")
        #expect(BootLoader.auto.file(for: .uefi) == "snponly.efi")
        #expect(BootLoader.ipxe.file(for: .bios) == "undionly.kpxe")
        #expect(BootLoader.ipxeDrivers.file(for: .uefiHTTP) == "ipxe.efi")
        #expect(BootLoader.secureboot.file(for: .uefi) == "shimx64.efi")
        #expect(BootLoader.auto.hostTag == nil && BootLoader.secureboot.hostTag == "loader-secureboot")
    }

    @Test func aProfileLoaderIsCheckedAndNamedInTheError() throws {
        let text = try SiteConfigEditorTests.defaultText()
        let sb = try SiteConfigEditor.set("profiles.default.loader", to: "secureboot", in: text)
        #expect(try SiteConfig(yaml: sb).profile(.default)?.loader == .secureboot)
        #expect(try SiteConfig(yaml: text).profile(.default)?.loader == .auto)
        #expect(throws: ValidationError.self) { try SiteConfig(yaml: text.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    loader: grub2\n")) }
        do {
            _ = try SiteConfig(yaml: text.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    loader: grub2\n"))
        } catch let e as ValidationError {
            #expect(e.field == "profiles.default.loader" && e.value == "grub2", "\(e)")
        }
    }

    /// A new profile, three levels deep, lands inside `profiles:` and keeps the rest.
    @Test func theEditorAddsAProfile() throws {
        let text = try SiteConfigEditorTests.defaultText()
        let once = try SiteConfigEditor.set("profiles.secureboot.image", to: "default", in: text)
        let twice = try SiteConfigEditor.set("profiles.secureboot.loader", to: "secureboot", in: once)
        let config = try SiteConfig(yaml: twice)
        #expect(config.profile(try ProfileName(parsing: "secureboot"))?.loader == .secureboot)
        #expect(config.profile(.default)?.kernelArgs == (try SiteConfig(yaml: text)).profile(.default)?.kernelArgs)
        let d = SiteConfigEditorTests.diff(text, twice)
        // (The diff is by distinct lines: "    image: default" was already there, under default.)
        #expect(d.removed.isEmpty && Set(d.added) == ["  secureboot:", "    loader: secureboot"], "\(d)")
        #expect(twice.split(separator: "\n", omittingEmptySubsequences: false).count == text.split(separator: "\n", omittingEmptySubsequences: false).count + 3)
        // Inside profiles: (a new key goes first in its section).
        #expect(twice.contains("  secureboot:\n    loader: secureboot\n    image: default\n"), "\(twice)")
    }
}
