/// Canonical lowercase colon form of an Ethernet MAC address.
///
/// A small copy of ProvisionerCore's rules, so the static node controller does not
/// carry the core's dependencies (YAML, templates).
enum MACText {
    /// Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF` and `aabbccddeeff`.
    /// - Throws: `ControllerError` naming the value.
    static func canonical(_ text: String) throws -> String {
        func fail(_ reason: String) -> ControllerError {
            ControllerError("invalid MAC address \"\(text)\" (\(reason))")
        }
        let hex: [Character]
        if text.contains(":") || text.contains("-") {
            let sep: Character = text.contains(":") ? ":" : "-"
            if text.contains(":") && text.contains("-") { throw fail("mixed separators") }
            let groups = text.split(separator: sep, omittingEmptySubsequences: false)
            guard groups.count == 6 else { throw fail("expected 6 octets") }
            guard groups.allSatisfy({ $0.count == 2 }) else { throw fail("expected 2 hex digits per octet") }
            hex = Array(groups.joined())
        } else {
            guard text.count == 12 else { throw fail("expected 6 octets") }
            hex = Array(text)
        }
        guard hex.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { throw fail("bad hex digit") }
        let lower = String(hex).lowercased()
        if lower == "000000000000" { throw fail("all-zero address") }
        if lower == "ffffffffffff" { throw fail("broadcast address") }
        if let first = UInt8(lower.prefix(2), radix: 16), first & 1 == 1 { throw fail("multicast address") }
        var pairs: [String] = []
        var i = lower.startIndex
        while i < lower.endIndex {
            let j = lower.index(i, offsetBy: 2)
            pairs.append(String(lower[i..<j]))
            i = j
        }
        return pairs.joined(separator: ":")
    }

    /// The MAC in a pxelinux `BOOTIF=` value: `01-aa-bb-cc-dd-ee-ff` (ARP type 1 = Ethernet),
    /// or a bare MAC as iPXE scripts often pass it.
    /// - Throws: `ControllerError` naming the value.
    static func fromBOOTIF(_ value: String) throws -> String {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 7 {
            guard parts[0] == "01" else {
                throw ControllerError("invalid BOOTIF \"\(value)\" (hardware type \(parts[0]) is not Ethernet, expected 01)")
            }
            do { return try canonical(parts[1...].joined(separator: "-")) } catch {
                throw ControllerError("invalid BOOTIF \"\(value)\" (\(error))")
            }
        }
        do { return try canonical(value) } catch {
            throw ControllerError("invalid BOOTIF \"\(value)\" (expected 01-aa-bb-cc-dd-ee-ff)")
        }
    }
}
