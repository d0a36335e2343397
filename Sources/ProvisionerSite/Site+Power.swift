import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import ProvisionerBMC

/// How a power fan-out runs.
public struct PowerOptions: Sendable {
    /// BMC calls at once (BMCs crash under too many: keep it bounded).
    public var parallel: Int
    /// Seconds per BMC call.
    public var timeout: Double
    /// Power on and cycle set a one-time PXE boot first (every node here boots from the network).
    public var pxe: Bool

    public init(parallel: Int = 16, timeout: Double = 10, pxe: Bool = true) {
        self.parallel = parallel
        self.timeout = timeout
        self.pxe = pxe
    }
}

/// Power and boot-device operations on nodes' BMCs, over a registry (the CLI's and serve's).
public struct PowerOperations: Sendable {
    public let registry: any Registry
    /// Makes a node's BMC client (nil: the real drivers); tests pass a fake BMC.
    public let client: (@Sendable (BMCSettings, Double) throws -> any BMCClient)?

    public init(registry: any Registry, client: (@Sendable (BMCSettings, Double) throws -> any BMCClient)? = nil) {
        self.registry = registry
        self.client = client
    }

    /// The nodes named by hostnames, MACs or hostlists, with their BMCs, in the order given.
    /// - Throws: `ValidationError` for an empty list or a bad hostlist, `NotFoundError` for an unknown node.
    public func targets(_ keys: [String]) throws -> [(node: String, bmc: BMCSettings?)] {
        guard !keys.isEmpty else { throw ValidationError(field: "nodes", value: "", reason: "name the nodes (a hostlist such as 'n[001-032]'); there is no all-nodes default") }
        let bmcs = try registry.bmcs()
        var seen = Set<String>()
        var out: [(node: String, bmc: BMCSettings?)] = []
        for key in try Hostlist.expandKeys(keys) {
            guard let node = try registry.node(key) else { throw NotFoundError("node", key) }
            if seen.insert(node.hostname.value).inserted { out.append((node.hostname.value, bmcs[node.hostname.value])) }
        }
        return out
    }

    /// Power `action` on the nodes' BMCs. A node that should net-boot gets a
    /// one-time PXE boot before it is powered on or cycled.
    public func power(_ action: PowerAction, _ keys: [String], _ options: PowerOptions = PowerOptions()) throws -> [PowerResult] {
        let targets = try targets(keys)
        let fanout = BMCFanout(parallel: options.parallel, timeout: options.timeout, client: client)
        let pxe = options.pxe && (action == .on || action == .cycle)
        return fanout.run(targets, action: action.rawValue) { client in
            if pxe { try client.bootNextPXE() }
            let done = try client.power(action)
            return action == .status ? done : (pxe ? "PXE next boot; " : "") + done
        }
    }

    /// Sets the nodes' next boot (only the next) to PXE.
    public func bootNextPXE(_ keys: [String], _ options: PowerOptions = PowerOptions()) throws -> [PowerResult] {
        let targets = try targets(keys)
        return BMCFanout(parallel: options.parallel, timeout: options.timeout, client: client).run(targets, action: "boot-next pxe") { client in
            try client.bootNextPXE()
            return "PXE next boot"
        }
    }
}

extension Site {
    public func powerOperations() throws -> PowerOperations { PowerOperations(registry: try openRegistry()) }

    public func power(_ action: PowerAction, _ keys: [String], _ options: PowerOptions = PowerOptions()) throws -> [PowerResult] {
        try powerOperations().power(action, keys, options)
    }

    public func bootNextPXE(_ keys: [String], _ options: PowerOptions = PowerOptions()) throws -> [PowerResult] {
        try powerOperations().bootNextPXE(keys, options)
    }

    /// Sets a node's BMC after checking its password file; nil clears it.
    /// - Throws: `ValidationError` naming a bad password file, `NotFoundError`.
    public func setBMC(_ key: String, _ bmc: BMCSettings?) throws -> ProvisionerCore.Node {
        if let bmc, let problem = BMCSecret.problem(bmc.passwordFile) {
            throw ValidationError(field: "BMC password file", value: bmc.passwordFile, reason: problem)
        }
        return try openRegistry().setBMC(key, bmc, now: Timestamp.iso(Date()))
    }
}

/// The failures of a fan-out as one error (its kind: the first failure's).
public struct PowerFailures: Error, CustomStringConvertible, ClassifiedError, Sendable {
    public var results: [PowerResult]
    public init?(_ results: [PowerResult]) {
        let failed = results.filter { !$0.ok }
        guard !failed.isEmpty else { return nil }
        self.results = failed
    }
    public var kind: FailureKind { (results.first?.failure ?? .failed).kind }
    public var description: String {
        "\(results.count) node(s) failed: " + results.prefix(8).map { "\($0.node) (\($0.failure?.rawValue ?? "failed"))" }.joined(separator: ", ")
            + (results.count > 8 ? ", …" : "")
    }
}
