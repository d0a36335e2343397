/// Hostlist expressions as Warewulf and xCAT write them: `n[001-100]`,
/// `rack[1-2]-n[01-04,07]`. A number range keeps the width of its first bound.
public enum Hostlist {
    /// The most names one expression may expand to.
    public static let limit = 100_000

    /// True when `text` is a bracketed expression rather than a single name.
    public static func isExpression(_ text: String) -> Bool { text.contains("[") || text.contains("]") }

    /// Expands `text` into hostnames, in order.
    /// - Throws: `ValidationError` for a malformed expression, an invalid
    ///   resulting hostname, a repeated name or more than `limit` names.
    public static func expand(_ text: String) throws(ValidationError) -> [Hostname] {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: "hostlist", value: text, reason: reason)
        }
        // Split into literal and bracket parts.
        var parts: [[String]] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "[" || $0 == "]" }) {
            guard rest[open] == "[" else { throw fail("']' without '['") }
            literal += rest[..<open]
            parts.append([literal])
            literal = ""
            guard let close = rest[open...].firstIndex(of: "]") else { throw fail("'[' without ']'") }
            let body = rest[rest.index(after: open)..<close]
            guard !body.contains("[") else { throw fail("nested '['") }
            parts.append(try expandBracket(body, fail))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        parts.append([literal])

        var total = 1
        for p in parts {
            total = total.multipliedReportingOverflow(by: p.count).partialValue
            if total > limit { throw fail("expands to more than \(limit) names") }
        }
        var names: [String] = [""]
        for p in parts where !(p.count == 1 && p[0].isEmpty) {
            names = names.flatMap { prefix in p.map { prefix + $0 } }
        }
        var seen = Set<Hostname>()
        var out: [Hostname] = []
        out.reserveCapacity(names.count)
        for n in names {
            let h = try Hostname(parsing: n)
            guard seen.insert(h).inserted else { throw fail("names \(h) twice") }
            out.append(h)
        }
        return out
    }

    private static func expandBracket(_ body: Substring, _ fail: (String) -> ValidationError) throws(ValidationError) -> [String] {
        guard !body.isEmpty else { throw fail("empty brackets") }
        var out: [String] = []
        for item in body.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
                throw fail("brackets hold numbers or ranges such as 001-100")
            }
            switch bounds.count {
            case 1:
                out.append(String(bounds[0]))
            case 2:
                guard let lo = Int(bounds[0]), let hi = Int(bounds[1]), lo <= hi else {
                    throw fail("range \(item) runs backwards")
                }
                guard hi - lo < limit else { throw fail("expands to more than \(limit) names") }
                let width = bounds[0].count
                for n in lo...hi {
                    let s = String(n)
                    out.append(s.count < width ? String(repeating: "0", count: width - s.count) + s : s)
                }
            default:
                throw fail("brackets hold numbers or ranges such as 001-100")
            }
            if out.count > limit { throw fail("expands to more than \(limit) names") }
        }
        return out
    }
}
