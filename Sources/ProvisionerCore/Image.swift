/// An image generation's id: `g1`, `g2`, … numbered in build order, so the
/// newest is the largest and ids never repeat within an image.
public struct GenerationID: TextValue, Hashable, Comparable, Sendable {
    public let number: Int

    public init(number: Int) { self.number = number }

    public init(parsing text: String) throws(ValidationError) {
        guard text.hasPrefix("g"), text.count <= 10, let n = Int(text.dropFirst()), n > 0,
              text.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(field: "generation", value: text, reason: "expected g followed by a number, e.g. g3")
        }
        number = n
    }

    public var description: String { "g\(number)" }
    public var next: GenerationID { GenerationID(number: number + 1) }
    public static func < (a: GenerationID, b: GenerationID) -> Bool { a.number < b.number }
}

/// What is recorded about a built generation (`meta.json` beside its root).
public struct GenerationMeta: Codable, Equatable, Sendable {
    public var id: GenerationID
    public var image: String
    /// ISO 8601, UTC.
    public var created: String
    public var suite: String
    public var architecture: String
    public var kernelVersion: String
    public var packageCount: Int
    /// Bytes of the root tree.
    public var sizeBytes: Int64
    /// Digest of everything the package-install stage reads (mirror, suite,
    /// packages, hooks): equal digests give equal base roots.
    public var baseDigest: String
    /// Seconds the build took.
    public var buildSeconds: Double
    /// Whether the base root came from the cache.
    public var fromCache: Bool

    public init(id: GenerationID, image: String, created: String, suite: String, architecture: String, kernelVersion: String, packageCount: Int, sizeBytes: Int64, baseDigest: String, buildSeconds: Double, fromCache: Bool) {
        self.id = id
        self.image = image
        self.created = created
        self.suite = suite
        self.architecture = architecture
        self.kernelVersion = kernelVersion
        self.packageCount = packageCount
        self.sizeBytes = sizeBytes
        self.baseDigest = baseDigest
        self.buildSeconds = buildSeconds
        self.fromCache = fromCache
    }

    enum CodingKeys: String, CodingKey {
        case id, image, created, suite, architecture
        case kernelVersion = "kernel_version"
        case packageCount = "package_count"
        case sizeBytes = "size_bytes"
        case baseDigest = "base_digest"
        case buildSeconds = "build_seconds"
        case fromCache = "from_cache"
    }
}

/// The package list of an image: `rootfs/packages/*.list`, one package per
/// line, `#` comments. Names are checked so none can smuggle an option into
/// mmdebstrap's command line.
public enum PackageList {
    /// - Throws: `ValidationError` naming the file and line of a bad name.
    public static func parse(_ text: String, file: String) throws(ValidationError) -> [String] {
        var out: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let name = String(line.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
            if name.isEmpty { continue }
            guard isPackageName(name) else {
                throw ValidationError(field: "package name", value: name, reason: "expected a Debian package name", location: "\(file) line \(i + 1)")
            }
            out.append(name)
        }
        return out
    }

    /// Debian policy: lowercase letters, digits, `+ - .`, starting with a letter or digit, at least two characters.
    /// An `:arch` qualifier is allowed.
    public static func isPackageName(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, name.count >= 2, let first = name.first,
              first.isASCII, first.isLowercase || first.isNumber else { return false }
        let ok = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
        if parts.count == 2 {
            return ok && !parts[1].isEmpty && parts[1].allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        }
        return ok
    }
}

/// The generations of one image and which is active: the pure bookkeeping
/// behind list, activate, rollback and rm.
public struct GenerationSet: Equatable, Sendable {
    public var ids: [GenerationID]
    public var active: GenerationID?
    /// The generation that was active before the last switch.
    public var previous: GenerationID?

    public init(ids: [GenerationID], active: GenerationID?, previous: GenerationID?) {
        self.ids = ids.sorted()
        self.active = active
        self.previous = previous
    }

    /// The id the next build gets: one past the largest ever seen.
    public func nextID(alsoSeen: [GenerationID] = []) -> GenerationID {
        (ids + alsoSeen).max()?.next ?? GenerationID(number: 1)
    }

    /// The generation rollback switches to: the previous one if it still
    /// exists, else the newest one older than the active one.
    /// - Throws: `ConflictError` when there is nothing to roll back to.
    public func rollbackTarget(image: String) throws(ConflictError) -> GenerationID {
        guard let active else { throw ConflictError("image \(image) has no active generation to roll back from") }
        if let previous, previous != active, ids.contains(previous) { return previous }
        if let older = ids.filter({ $0 < active }).max() { return older }
        throw ConflictError("image \(image) has no generation before \(active) to roll back to")
    }

    /// Checks that `id` may be removed: it exists, is not active, and no node
    /// reports booting from it.
    /// - Throws: `NotFoundError` for a generation that does not exist,
    ///   `ConflictError` for one that is active or in use.
    public func checkRemovable(_ id: GenerationID, image: String, inUseBy nodes: [String]) throws {
        guard ids.contains(id) else { throw NotFoundError("generation", id.description, message: "image \(image) has no generation \(id)") }
        if id == active { throw ConflictError("generation \(id) of image \(image) is active; activate another one first") }
        if !nodes.isEmpty {
            throw ConflictError("generation \(id) of image \(image) is in use by \(nodes.sorted().joined(separator: ", ")) (they run it or are pinned to it); move them to another generation first")
        }
    }
}
