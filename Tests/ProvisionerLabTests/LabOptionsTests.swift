import Testing
@testable import ProvisionerLab

/// The lab's vCPUs per node when none are asked for: the cores shared among the nodes.
struct LabOptionsTests {
    @Test func defaultCPUsShareTheHostsCores() {
        #expect(LabOptions.defaultCPUs(nodes: 1, hostCores: 2) == 2)
        #expect(LabOptions.defaultCPUs(nodes: 2, hostCores: 2) == 1)
        #expect(LabOptions.defaultCPUs(nodes: 3, hostCores: 2) == 1)
        #expect(LabOptions.defaultCPUs(nodes: 2, hostCores: 16) == 4)
        #expect(LabOptions.defaultCPUs(nodes: 0, hostCores: 1) == 1)
    }
}
