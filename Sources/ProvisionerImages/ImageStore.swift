import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// The generations of one image on disk:
///
///     <images>/<image>/g1/root/          the shared root (exported read-only)
///     <images>/<image>/g1/meta.json      what was built (GenerationMeta)
///     <images>/<image>/g1/vmlinuz, initrd.img
///     <images>/<image>/current  -> g2    the active generation (one symlink)
///     <images>/<image>/previous -> g1    what was active before the last switch
///     <images>/<image>/.build-g3/        a build in progress (removed if it died)
///
/// Kernel and initrd are published to `<tftp>/images/<image>/<gen>/` and
/// `<http>/images/<image>/<gen>/`, the paths the boot configs name.
public struct ImageStore: Sendable {
    public let config: SiteConfig
    public let image: String

    public init(config: SiteConfig, image: String) {
        self.config = config
        self.image = image
    }

    public var dir: String { "\(config.imagesDir)/\(image)" }
    public func generationDir(_ id: GenerationID) -> String { "\(dir)/\(id)" }
    public func rootDir(_ id: GenerationID) -> String { "\(dir)/\(id)/root" }
    public func partialDir(_ id: GenerationID) -> String { "\(dir)/.build-\(id)" }
    public func publishedDirs(_ id: GenerationID) -> [String] {
        ["\(config.tftpRoot)/images/\(image)/\(id)", "\(config.httpRoot)/images/\(image)/\(id)"]
    }

    /// The generations present, the active one and the previous one.
    public func generations() -> GenerationSet {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let ids = names.compactMap { try? GenerationID(parsing: $0) }
            .filter { FileManager.default.fileExists(atPath: generationDir($0) + "/meta.json") }
        return GenerationSet(ids: ids, active: link("current"), previous: link("previous"))
    }

    /// The next generation id, never one used before: nfs-ganesha caches
    /// paths, and a directory recreated under a name it served gives nodes
    /// "stale file handle". `.last-id` keeps the highest id ever handed out.
    /// Call while holding the image lock.
    public func allocateID() throws -> GenerationID {
        let recorded = FileSystem.read(dir + "/.last-id").flatMap { try? GenerationID(parsing: String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
        let id = generations().nextID(alsoSeen: partialBuilds() + (recorded.map { [$0] } ?? []))
        try FileSystem.writeAtomically(id.description + "\n", to: dir + "/.last-id")
        return id
    }

    /// Generation ids of builds that did not finish (`.build-gN`).
    public func partialBuilds() -> [GenerationID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix(".build-") }.compactMap { try? GenerationID(parsing: String($0.dropFirst(7))) }
    }

    private func link(_ name: String) -> GenerationID? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\(name)") else { return nil }
        return try? GenerationID(parsing: (target as NSString).lastPathComponent)
    }

    /// The recorded facts of a generation.
    /// - Throws: `SystemError` when its meta.json is missing or unreadable.
    public func meta(_ id: GenerationID) throws -> GenerationMeta {
        let path = generationDir(id) + "/meta.json"
        guard let data = FileSystem.read(path) else { throw SystemError("reading \(path): no such file") }
        do { return try JSONDecoder().decode(GenerationMeta.self, from: data) } catch {
            throw SystemError("reading \(path): \(error)")
        }
    }

    /// Makes `id` the active generation in one atomic rename of the `current`
    /// symlink; the one it replaces becomes `previous`.
    /// - Throws: `ConflictError` for an unknown generation, `SystemError` on failure.
    public func activate(_ id: GenerationID) throws {
        let set = generations()
        guard set.ids.contains(id) else { throw NotFoundError("generation", id.description, message: "image \(image) has no generation \(id)") }
        if set.active == id { return }
        if let old = set.active { try swapLink("previous", to: old.description) }
        try swapLink("current", to: id.description)
    }

    /// Points `dir/name` at `target` by renaming a new symlink over it.
    private func swapLink(_ name: String, to target: String) throws {
        let tmp = "\(dir)/.\(name).tmp-\(getpid())"
        unlink(tmp)
        guard symlink(target, tmp) == 0 else { throw SystemError("creating symlink \(tmp): \(errnoText())") }
        guard rename(tmp, "\(dir)/\(name)") == 0 else {
            let e = errnoText()
            unlink(tmp)
            throw SystemError("switching \(dir)/\(name) to \(target): \(e)")
        }
        FileSystem.syncDirectory(of: "\(dir)/\(name)")
    }

    /// Removes a generation and its published kernel and initrd. The caller
    /// checks it is removable (`GenerationSet.checkRemovable`).
    /// - Throws: `SystemError`.
    public func remove(_ id: GenerationID) throws {
        // Rename first, so a half-removed generation is never listed.
        let doomed = "\(dir)/.rm-\(id)-\(getpid())"
        if rename(generationDir(id), doomed) != 0 { throw SystemError("removing \(generationDir(id)): \(errnoText())") }
        if link("previous") == id { unlink("\(dir)/previous") }
        for d in publishedDirs(id) { try? FileManager.default.removeItem(atPath: d) }
        try FileSystem.removeTree(doomed)
    }

    /// Removes what dead builds and removals left behind (`.build-*`, `.rm-*`).
    /// Call only while holding the image lock.
    /// - Returns: the removed directories.
    @discardableResult
    public func cleanLeftovers() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var removed: [String] = []
        for n in names where n.hasPrefix(".build-") || n.hasPrefix(".rm-") {
            let path = "\(dir)/\(n)"
            if (try? FileSystem.removeTree(path)) != nil { removed.append(path) }
            if let id = try? GenerationID(parsing: String(n.dropFirst(7))), n.hasPrefix(".build-") {
                for d in publishedDirs(id) { try? FileManager.default.removeItem(atPath: d) }
            }
        }
        return removed
    }

    /// Copies the generation's kernel and initrd into the TFTP and HTTP roots
    /// (world-readable copies: Debian's kernel is 0600 in the root, and
    /// dnsmasq's TFTP runs unprivileged).
    /// - Throws: `SystemError`.
    public func publish(_ id: GenerationID, from genDir: String) throws {
        for d in publishedDirs(id) {
            try FileSystem.makeDirectory(d)
            for f in ["vmlinuz", "initrd.img"] {
                try FileSystem.copyFile(genDir + "/" + f, to: d + "/" + f, mode: 0o644)
            }
        }
        // The root image (root: ram) over HTTP only: a hard link where it can be (it is
        // hundreds of MB), else a copy; a generation built before it existed has none.
        let image = genDir + "/" + Paths.rootImageName
        if FileManager.default.fileExists(atPath: image) {
            let published = Paths.publishedRootImage(config, image: self.image, generation: id.description)
            try? FileManager.default.removeItem(atPath: published)
            if Glibc.link(image, published) != 0 {
                do { try FileManager.default.copyItem(atPath: image, toPath: published) } catch {
                    throw SystemError("publishing \(image) to \(published): \(error.localizedDescription)")
                }
            }
        }
    }

    /// Finishes a generation made in its partial directory (`.build-gN`):
    /// writes its meta.json, publishes its kernel and initrd, renames it into
    /// place and, if asked, activates it. Call while holding the image lock.
    /// - Throws: `SystemError`; the caller then `discard`s the id.
    public func install(_ meta: GenerationMeta, activate: Bool) throws {
        let partial = partialDir(meta.id)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(try enc.encode(meta), to: partial + "/meta.json")
        try publish(meta.id, from: partial)
        guard rename(partial, generationDir(meta.id)) == 0 else {
            throw SystemError("moving \(partial) into place: \(errnoText())")
        }
        FileSystem.syncDirectory(of: generationDir(meta.id))
        if activate { try self.activate(meta.id) }
    }

    /// Removes what a failed build or import of `id` left: its partial directory and published files.
    public func discard(_ id: GenerationID) {
        try? FileSystem.removeTree(partialDir(id))
        for d in publishedDirs(id) { try? FileSystem.removeTree(d) }
    }

    /// Adds a generation from an archive made by `image export`, under the next id.
    /// - Throws: `ConflictError` when the archive is not an image export (or the image is busy), `SystemError`.
    public func importArchive(_ file: String, activate: Bool) throws -> GenerationID {
        try withLock {
            cleanLeftovers()
            let id = try allocateID()
            let partial = partialDir(id)
            do {
                try FileSystem.makeDirectory(partial)
                try ImageArchive.unpack(file, into: partial, rules: .imageExport)
                guard let data = FileSystem.read(partial + "/meta.json"),
                      var meta = try? JSONDecoder().decode(GenerationMeta.self, from: data) else {
                    throw ValidationError(field: "image export", value: file, reason: "no valid meta.json")
                }
                for f in ["vmlinuz", "initrd.img", "root/etc/os-release"] where !FileManager.default.fileExists(atPath: partial + "/" + f) {
                    throw ValidationError(field: "image export", value: file, reason: "no \(f)")
                }
                meta.id = id
                meta.image = image
                try install(meta, activate: activate)
                return id
            } catch {
                discard(id)
                throw error
            }
        }
    }

    /// Holds the image's build lock (flock on `<image>/.lock`) while `body` runs.
    /// - Throws: `ConflictError` when another process holds it and `wait` is false.
    public func withLock<T>(wait: Bool = false, _ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectory(dir)
        // The roots hold setuid programs and device nodes: nobody but root
        // walks into them on the server (nfsd and ganesha run as root).
        guard chmod(config.imagesDir, 0o700) == 0 else { throw SystemError("chmod 0700 \(config.imagesDir): \(errnoText())") }
        let fd = open("\(dir)/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("opening \(dir)/.lock: \(errnoText())") }
        defer { close(fd) }
        if flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            throw BusyError("image \(image) is busy: another build or image command holds \(dir)/.lock")
        }
        return try body()
    }
}
