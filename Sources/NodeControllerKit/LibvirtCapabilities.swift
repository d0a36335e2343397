/// The parts of libvirt's capabilities XML the controller needs: which guest
/// architectures run which domain types (`<guest><arch name=…><domain type=…/>`).
///
/// A small scanner over libvirt's own regular output, so the static binary needs no XML
/// library (FoundationXML would pull in libxml2).
public struct LibvirtCapabilities: Sendable, Equatable {
    public struct Guest: Sendable, Equatable {
        public var osType: String
        public var arch: String
        public var domainTypes: [String]
    }

    public var hostArch: String?
    public var guests: [Guest]

    public init(xml: String) {
        hostArch = Self.elementText("arch", in: Self.section("host", in: xml) ?? "")
        var guests: [Guest] = []
        for block in Self.sections("guest", in: xml) {
            let osType = Self.elementText("os_type", in: block) ?? ""
            guard let archStart = block.firstRange(of: "<arch ") else { continue }
            let archTag = block[archStart.lowerBound...].prefix { $0 != ">" }
            let arch = Self.attribute("name", in: String(archTag)) ?? ""
            var types: [String] = []
            var rest = block[archStart.lowerBound...]
            while let r = rest.firstRange(of: "<domain ") {
                let tag = rest[r.lowerBound...].prefix { $0 != ">" }
                if let t = Self.attribute("type", in: String(tag)), !types.contains(t) { types.append(t) }
                rest = rest[r.upperBound...]
            }
            guests.append(Guest(osType: osType, arch: arch, domainTypes: types))
        }
        self.guests = guests
    }

    /// Domain types libvirt offers for `hvm` guests of `arch`.
    public func hvmDomainTypes(arch: String) -> [String] {
        guests.filter { $0.osType == "hvm" && $0.arch == arch }.flatMap(\.domainTypes)
    }

    /// The architecture to run instances as: x86_64 when offered, else the host's, else the first hvm one.
    public var preferredHVMArch: String? {
        let hvm = guests.filter { $0.osType == "hvm" }.map(\.arch)
        if hvm.contains("x86_64") { return "x86_64" }
        if let h = hostArch, hvm.contains(h) { return h }
        return hvm.first
    }

    static func sections(_ name: String, in xml: String) -> [Substring] {
        var out: [Substring] = []
        var rest = xml[...]
        while let open = rest.firstRange(of: "<\(name)>"), let close = rest[open.upperBound...].firstRange(of: "</\(name)>") {
            out.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func section(_ name: String, in xml: String) -> String? { sections(name, in: xml).first.map(String.init) }

    static func elementText(_ name: String, in xml: some StringProtocol) -> String? {
        guard let open = xml.firstRange(of: "<\(name)>"), let close = xml[open.upperBound...].firstRange(of: "</\(name)>") else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        for quote in ["'", "\""] {
            if let r = tag.firstRange(of: " \(name)=\(quote)") {
                let value = tag[r.upperBound...].prefix { String($0) != quote }
                return String(value)
            }
        }
        return nil
    }
}
