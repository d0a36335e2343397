import Foundation
import ProvisionerAPI
import Testing
@testable import ProvisionerStore

/// The operator casing of the node controllers' types comes from one key
/// strategy; these pin the keys the operator API has always answered with.
struct SnakeCasedTests {
    @Test(arguments: [
        ("coresMax", "cores_max"), ("memoryMiBFree", "memory_mib_free"), ("diskMiBMax", "disk_mib_max"),
        ("hardwareVirtualizationReason", "hardware_virtualization_reason"), ("libvirtVersion", "libvirt_version"),
        ("memoryMiB", "memory_mib"), ("slowestUnits", "slowest_units"), ("id", "id"), ("cmdline", "cmdline"),
    ])
    func keysConvertBothWays(camel: String, snake: String) {
        #expect(OperatorKeys.snake(camel) == snake)
        #expect(OperatorKeys.camel(snake) == camel)
    }

    static func text(_ value: some Encodable) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(value), as: UTF8.self)
    }

    @Test func capacityKeepsItsOperatorKeysAndRoundTrips() throws {
        let capacity = NodeCapacity(coresMax: 4, coresFree: 3, memoryMiBMax: 8192, memoryMiBFree: 4096, diskMiBMax: 100, diskMiBFree: 50,
                                    hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "no /dev/kvm", libvirtVersion: "9.0.0")
        let text = try Self.text(SnakeCased(capacity))
        #expect(text == #"{"cores_free":3,"cores_max":4,"disk_mib_free":50,"disk_mib_max":100,"hardware_virtualization":false,"#
            + #""hardware_virtualization_reason":"no \/dev\/kvm","hypervisor":"qemu-tcg","libvirt_version":"9.0.0","memory_mib_free":4096,"memory_mib_max":8192}"#)
        #expect(try JSONDecoder().decode(SnakeCased<NodeCapacity>.self, from: Data(text.utf8)).value == capacity)
        // The node wire keeps its own casing.
        #expect(try Self.text(capacity).contains(#""memoryMiBMax":8192"#))
    }

    @Test func nestedKeysAndFractionsSurviveTheTrip() throws {
        let timings = BootTimings(kernelSeconds: 1.25, userspaceSeconds: 20, slowestUnits: [.init(unit: "a.service", seconds: 0.1)])
        let text = try Self.text(SnakeCased(timings))
        #expect(text == #"{"kernel_seconds":1.25,"slowest_units":[{"seconds":0.1,"unit":"a.service"}],"userspace_seconds":20}"#)
        #expect(try JSONDecoder().decode(SnakeCased<BootTimings>.self, from: Data(text.utf8)).value == timings)
    }

    @Test func aWrongTypeUnderAKeyIsAnError() {
        let bad = #"{"id":"i1","vcpus":"two","memory_mib":512}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SnakeCased<InstanceSpec>.self, from: Data(bad.utf8)) }
    }
}
