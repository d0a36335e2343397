import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// The firmware a node reports: BIOS without /sys/firmware/efi; UEFI with
/// Secure Boot from the last byte of efivarfs' SecureBoot variable.
struct PlatformTests {
    func host(secureBoot: [UInt8]?) throws -> HostPaths {
        let dir = try makeTempDir("efi")
        let paths = HostPaths(root: dir)
        try FileManager.default.createDirectory(atPath: paths.efi + "/efivars", withIntermediateDirectories: true)
        if let bytes = secureBoot { try #require(FileManager.default.createFile(atPath: paths.secureBootVariable, contents: Data(bytes))) }
        return paths
    }

    @Test func biosUEFIAndSecureBoot() throws {
        #expect(HostProbe(paths: fixtureHost("bare")).platform() == NodePlatform(firmware: .bios, secureboot: nil))
        // efivarfs: 4 attribute bytes (NV+BS+RT = 0x06), then the value.
        #expect(HostProbe(paths: try host(secureBoot: [6, 0, 0, 0, 1])).platform() == NodePlatform(firmware: .uefi, secureboot: true))
        #expect(HostProbe(paths: try host(secureBoot: [6, 0, 0, 0, 0])).platform() == NodePlatform(firmware: .uefi, secureboot: false))
        #expect(HostProbe(paths: try host(secureBoot: nil)).platform() == NodePlatform(firmware: .uefi, secureboot: nil))
        #expect(HostProbe(paths: try host(secureBoot: [6, 0])).platform().secureboot == nil)
        #expect(NodePlatform(firmware: .uefi, secureboot: true).summary == "uefi, Secure Boot on")
    }
}
