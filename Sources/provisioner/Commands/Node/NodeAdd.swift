import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node add NAME|HOSTLIST`: registers one node or a hostlist of them.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register a node, or a hostlist such as 'n[001-100]'.",
            discussion: """
                Without --ip a node gets the next free static address. A hostlist gets \
                sequential addresses from --ip, and MACs from --macs (one per line, in \
                order); without MACs its nodes wait for discovery.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "A hostname, or a hostlist expression such as 'n[001-100]'.")
        var name: String

        @Option(help: "The node's MAC address.")
        var mac: String?

        @Option(help: "The node's address; for a hostlist, the first of sequential addresses.")
        var ip: String?

        @Option(help: "Boot profile (default: default).")
        var profile: String?

        @Option(help: ArgumentHelp("File of MAC addresses for a hostlist, one per line.", valueName: "FILE"))
        var macs: String?

        func validate() throws {
            if mac != nil && macs != nil { throw ValidationError("give --mac or --macs, not both") }
        }

        func run() throws {
            let config = try global.loadConfig()
            let specs = try buildSpecs(config: config)
            let (added, files) = try global.nodeOperations(config, skip: applyOptions.noApply).add(specs, now: now())
            emit(output.json ? try jsonText(added) : nodeTable(added) + files.summary + "\n")
        }

        func buildSpecs(config: SiteConfig) throws -> [NodeSpec] {
            let names = Hostlist.isExpression(name) ? try Hostlist.expand(name) : [try Hostname(parsing: name)]
            let profileName = try profile.map { p throws(ProvisionerCore.ValidationError) in try ProfileName(parsing: p) }
            if let p = profileName, config.profile(p) == nil {
                throw ConflictError("unknown profile \(quoted(p.value)) (not in the site config)")
            }
            var macList: [MACAddress?] = Array(repeating: nil, count: names.count)
            if let mac {
                guard names.count == 1 else { throw CommandError("--mac is for one node; give a hostlist its MACs with --macs FILE") }
                macList[0] = try MACAddress(parsing: mac)
            } else if let macs {
                let parsed = try Self.readMACs(macs)
                guard parsed.count == names.count else {
                    throw CommandError("\(macs) holds \(parsed.count) MAC addresses for \(names.count) nodes")
                }
                macList = parsed
            }
            var first: IPv4Address?
            if let ip {
                let parsed = try IPv4Address(parsing: ip)
                try config.checkStaticAddress(parsed, given: ip)
                first = parsed
            }
            var specs: [NodeSpec] = []
            for (i, host) in names.enumerated() {
                var address: IPv4Address?
                if let first {
                    guard let next = first.advanced(by: i) else { throw CommandError("--ip \(ip ?? ""): runs past 255.255.255.255") }
                    do { try config.checkStaticAddress(next) } catch {
                        throw CommandError("--ip \(ip ?? ""): address \(next) for \(host) is \(config.staticAddressProblem(next) ?? "not allowed")")
                    }
                    address = next
                }
                specs.append(NodeSpec(hostname: host, mac: macList[i], ip: address, profile: profileName))
            }
            return specs
        }

        /// One MAC per line; blank lines and `#` comments are skipped.
        static func readMACs(_ path: String) throws -> [MACAddress?] {
            let text = try readInputFile(path, what: "MAC list")
            var out: [MACAddress?] = []
            var seen: [MACAddress: Int] = [:]
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let t = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                    .trimmingCharacters(in: [" ", "\t", "\r"])
                if t.isEmpty { continue }
                let mac: MACAddress
                do { mac = try MACAddress(parsing: t) } catch { throw error.at("\(path) line \(i + 1)") }
                if let first = seen.updateValue(i + 1, forKey: mac) {
                    throw ConflictError("duplicate MAC address \(mac) (also on line \(first))", location: "\(path) line \(i + 1)")
                }
                out.append(mac)
            }
            return out
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
