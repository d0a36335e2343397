import ProvisionerAPI
import Testing
@testable import ProvisionerCore

struct PlacementTests {
    static func cap(cores: Int, mem: Int, hypervisor: HypervisorKind = .qemuTCG) -> NodeCapacity {
        NodeCapacity(coresMax: cores, coresFree: cores, memoryMiBMax: mem, memoryMiBFree: mem, diskMiBMax: 1000, diskMiBFree: 1000,
                     hypervisor: hypervisor, hardwareVirtualization: false, hardwareVirtualizationReason: "test", libvirtVersion: "9.0.0")
    }
    static let small = VMType.defaults[0]   // 1 cpu, 128 MiB
    static let large = VMType.defaults[2]   // 2 cpus, 512 MiB

    @Test func greedyTakesTheFirstReadyNodeWithRoomInHostnameOrder() throws {
        let nodes = [
            Placement.Candidate(hostname: "n3", ready: true, capacity: Self.cap(cores: 8, mem: 8192)),
            Placement.Candidate(hostname: "n1", ready: true, capacity: Self.cap(cores: 1, mem: 4096)),
            Placement.Candidate(hostname: "n2", ready: true, capacity: Self.cap(cores: 2, mem: 4096)),
        ]
        #expect(try Placement.choose(Self.small, among: nodes).get() == "n1")
        #expect(try Placement.choose(Self.large, among: nodes).get() == "n2")
    }

    @Test func exactFitPlacesAndOneMoreDoesNot() throws {
        var n = Placement.Candidate(hostname: "n1", ready: true, capacity: Self.cap(cores: 2, mem: 512))
        #expect(try Placement.choose(Self.large, among: [n]).get() == "n1")
        n.pendingCores = 2
        n.pendingMemoryMiB = 512
        guard case .failure(let e) = Placement.choose(Self.large, among: [n]) else { Issue.record("placed on a full node"); return }
        #expect(e.description.contains("no room for m1.large"))
    }

    @Test func fullClusterLostNodesAndNodesWithoutHypervisorAreRefused() {
        let nodes = [
            Placement.Candidate(hostname: "n1", ready: false, capacity: Self.cap(cores: 8, mem: 8192)),   // lost mid-placement
            Placement.Candidate(hostname: "n2", ready: true, capacity: Self.cap(cores: 8, mem: 8192, hypervisor: .none)),
            Placement.Candidate(hostname: "n3", ready: true, capacity: Self.cap(cores: 1, mem: 100)),
            Placement.Candidate(hostname: "n4", ready: true, capacity: nil),
        ]
        guard case .failure(let e) = Placement.choose(Self.small, among: nodes) else { Issue.record("placed"); return }
        #expect(e.description.contains("no room for m1.small") && e.description.contains("3 ready node(s)"))
        guard case .failure(let lost) = Placement.choose(Self.small, among: nodes, only: "n1") else { Issue.record("placed on a lost node"); return }
        #expect(lost.description == "node n1 is not ready")
        guard case .failure(let none) = Placement.choose(Self.small, among: [], only: "zz") else { Issue.record("placed"); return }
        #expect(none.description.contains("no node"))
    }

    @Test func availabilityCountsPerNodeThenSums() {
        let a = VMType.availability([Self.small, Self.large], capacities: [Self.cap(cores: 2, mem: 1024), Self.cap(cores: 4, mem: 600)])
        #expect(a[0].max == 2 + 4)          // small: min(2, 8) + min(4, 4)
        #expect(a[1].max == 1 + 1)          // large: min(1, 2) + min(2, 1)
    }

    @Test(arguments: ["g1", "g42", "g999999999"]) func generationIDsParse(_ s: String) throws {
        #expect(try GenerationID(parsing: s).description == s)
    }

    @Test(arguments: ["", "g", "g0", "1", "G1", "g-1", "g1 ", "g1\n", "g1/../x", "g12345678901"]) func badGenerationIDsAreRefused(_ s: String) {
        #expect(throws: ValidationError.self) { try GenerationID(parsing: s) }
    }

    @Test func rollbackGoesToPreviousElseOlderAndRmRefusesActiveAndInUse() throws {
        let g = { (n: Int) in GenerationID(number: n) }
        #expect(try GenerationSet(ids: [g(1), g(2), g(3)], active: g(3), previous: g(1)).rollbackTarget(image: "d") == g(1))
        #expect(try GenerationSet(ids: [g(1), g(3)], active: g(3), previous: g(2)).rollbackTarget(image: "d") == g(1))
        #expect(throws: ConflictError.self) { try GenerationSet(ids: [g(1)], active: g(1), previous: nil).rollbackTarget(image: "d") }
        let set = GenerationSet(ids: [g(1), g(2)], active: g(2), previous: nil)
        #expect(throws: ConflictError.self) { try set.checkRemovable(g(2), image: "d", inUseBy: []) }
        #expect(throws: ConflictError.self) { try set.checkRemovable(g(1), image: "d", inUseBy: ["n1"]) }
        #expect(throws: NotFoundError.self) { try set.checkRemovable(g(7), image: "d", inUseBy: []) }
        try set.checkRemovable(g(1), image: "d", inUseBy: [])
        #expect(set.nextID(alsoSeen: [g(5)]) == g(6))
    }

    @Test func packageListsRejectOptionInjection() throws {
        #expect(try PackageList.parse("linux-image-amd64  # kernel\n\n  zstd\nlibc6:amd64\n", file: "x") == ["linux-image-amd64", "zstd", "libc6:amd64"])
        for bad in ["--hook=evil", "a", "Foo", "pkg,other", "pkg name", "$(reboot)"] {
            #expect(throws: ValidationError.self) { try PackageList.parse(bad, file: "x.list") }
        }
    }
}
