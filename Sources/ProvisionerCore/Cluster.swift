import ProvisionerAPI

/// A VM size, as Eucalyptus' `describe-availability-zones verbose` lists them.
public struct VMType: Codable, Sendable, Equatable {
    public var name: String
    public var cpus: Int
    public var memoryMiB: Int
    public var diskGiB: Int

    public init(name: String, cpus: Int, memoryMiB: Int, diskGiB: Int) {
        self.name = name
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
    }

    /// The seed tutorial's defaults (Eucalyptus 1.6).
    public static let defaults: [VMType] = [
        VMType(name: "m1.small", cpus: 1, memoryMiB: 128, diskGiB: 2),
        VMType(name: "c1.medium", cpus: 1, memoryMiB: 256, diskGiB: 5),
        VMType(name: "m1.large", cpus: 2, memoryMiB: 512, diskGiB: 10),
        VMType(name: "m1.xlarge", cpus: 2, memoryMiB: 1024, diskGiB: 20),
        VMType(name: "c1.xlarge", cpus: 4, memoryMiB: 2048, diskGiB: 20),
    ]

    /// How many of this type fit in the given cores and memory. Disk is not
    /// counted, as in placement (see `Placement`): kernel-boot instances use
    /// none, and a diskless node's scratch space is its RAM.
    public func fits(cores: Int, memoryMiB mem: Int) -> Int {
        guard cpus > 0, memoryMiB > 0 else { return 0 }
        return max(0, min(cores / cpus, mem / memoryMiB))
    }

    /// Free and max instances of each type across the nodes that can run VMs
    /// (ready, with a hypervisor): per node, then summed, as Eucalyptus counts.
    public static func availability(_ types: [VMType], capacities: [NodeCapacity]) -> [(type: VMType, free: Int, max: Int)] {
        types.map { t in
            var free = 0, total = 0
            for c in capacities where c.hypervisor != .none {
                free += t.fits(cores: c.coresFree, memoryMiB: c.memoryMiBFree)
                total += t.fits(cores: c.coresMax, memoryMiB: c.memoryMiBMax)
            }
            return (t, free, total)
        }
    }
}
