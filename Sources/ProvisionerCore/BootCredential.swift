/// A node's single-use boot credential: 128 random bits that serve mints
/// when a boot begins (the node controller's request for one, over the node
/// API's TLS, from the node's own address while it is not up) and that the boot's first
/// enrollment uses up. Nothing derives it and no file served without
/// authentication holds it; the registry keeps only its SHA-256, so a
/// registry read leaks nothing that enrolls, and every boot server sharing
/// the registry honours (and uses up) the same one.
public enum BootCredential {
    /// Seconds a minted credential can enroll: a boot that takes longer asks for a new one.
    public static let lifetime: Double = 1800

    /// A new credential: 32 hex characters.
    public static func make() -> String { Secret.random(bytes: 16) }

    /// What the registry keeps of `value`: its SHA-256, as hex.
    public static func digest(_ value: String) -> String { Secret.digest(value) }

    /// Whether `value` is the credential whose digest is `digest`, compared in constant time.
    public static func matches(_ value: String, digest: String) -> Bool { Secret.matches(value, digest: digest) }
}

/// A boot credential as the registry keeps it: for whom, its digest, where and
/// when it was given, and when and from where it was used (once).
public struct BootCredentialRecord: Sendable, Equatable {
    public var mac: MACAddress
    public var digest: String
    /// The address it was handed to.
    public var givenTo: String?
    public var mintedAt: String
    public var usedAt: String?
    public var usedFrom: String?

    public init(mac: MACAddress, digest: String, givenTo: String?, mintedAt: String, usedAt: String? = nil, usedFrom: String? = nil) {
        self.mac = mac
        self.digest = digest
        self.givenTo = givenTo
        self.mintedAt = mintedAt
        self.usedAt = usedAt
        self.usedFrom = usedFrom
    }
}
