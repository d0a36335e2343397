import Foundation
import ProvisionerCore
import ProvisionerBoot
import ProvisionerImages
import ProvisionerPlatform

/// What `image build` asks for, beyond the site.
public struct ImageBuildOptions: Sendable {
    public var image: String
    /// The `rootfs/` tree (nil: found beside the binary or from $PROVISIONER_ROOTFS).
    public var rootfs: String?
    /// The node-controller binary (nil: found as `Resources.nodeController` finds it).
    public var nodeController: String?
    public var sshKeys: String?
    public var useCache: Bool
    public var activate: Bool

    public init(image: String, rootfs: String? = nil, nodeController: String? = nil, sshKeys: String? = nil, useCache: Bool = true, activate: Bool = true) {
        self.image = image
        self.rootfs = rootfs
        self.nodeController = nodeController
        self.sshKeys = sshKeys
        self.useCache = useCache
        self.activate = activate
    }
}

extension Site {
    /// Builds a new generation of an image beside the live one (activated
    /// unless asked not to) and points the boot files at it.
    /// - Returns: the generation and, when activated, what was done to the boot files.
    /// - Throws: `SystemError` for a missing rootfs tree or unreadable inputs, and the builder's errors.
    public func buildImage(_ options: ImageBuildOptions, now: String, events: (BuildEvent) -> Void) throws -> (meta: GenerationMeta, bootFiles: String?) {
        let config = try loadConfig()
        guard let rootfsDir = Resources.rootfs(explicit: options.rootfs) else {
            throw SystemError("no rootfs/ directory found; pass --rootfs DIR or set PROVISIONER_ROOTFS")
        }
        let controller = Resources.nodeController(explicit: options.nodeController)
        if let controller, !FileManager.default.isExecutableFile(atPath: controller) {
            throw ValidationError(field: "node-controller binary", value: controller, reason: "not an executable file")
        }
        if let keys = options.sshKeys, !FileManager.default.isReadableFile(atPath: keys) {
            throw SystemError("cannot read ssh keys file \(quoted(keys))")
        }
        if controller == nil { events(.warning("no node-controller binary found (make node-controller); the image will not enroll by itself")) }
        let siteFiles = try writeImageOverlay(config)
        let request = ImageBuildRequest(
            config: config, image: options.image, rootfsDir: rootfsDir, siteFiles: siteFiles,
            nodeController: controller, sshKeys: options.sshKeys, useCache: options.useCache, activate: options.activate, now: now)
        let meta = try ImageBuilder().build(request, events: events)
        return (meta, options.activate ? try reapplyBootFiles(config) : nil)
    }
}

extension Site {
    /// Makes `id` the active generation of `image` and points the boot files at it.
    /// - Returns: what was done to the boot files.
    /// - Throws: `NotFoundError` for a generation that does not exist, `BusyError` while a build holds the image.
    public func activateImage(_ image: String, generation id: GenerationID) throws -> String {
        let config = try loadConfig()
        let store = ImageStore(config: config, image: image)
        try store.withLock(wait: false) { try store.activate(id) }
        return try reapplyBootFiles(config)
    }

    /// Switches `image` back to the generation active before the last switch.
    /// - Returns: the generations switched from and to, and what was done to the boot files.
    /// - Throws: `ConflictError` when there is nothing to roll back to.
    public func rollbackImage(_ image: String) throws -> (from: GenerationID?, to: GenerationID, bootFiles: String) {
        let config = try loadConfig()
        let store = ImageStore(config: config, image: image)
        let (from, to) = try store.withLock { () throws -> (GenerationID?, GenerationID) in
            let set = store.generations()
            let target = try set.rollbackTarget(image: image)
            try store.activate(target)
            return (set.active, target)
        }
        return (from, to, try reapplyBootFiles(config))
    }

    /// Removes a generation: never the active one, nor one a live node booted from.
    /// - Throws: `NotFoundError`, or `ConflictError` saying who uses it.
    public func removeImage(_ image: String, generation id: GenerationID) throws {
        let config = try loadConfig()
        let store = ImageStore(config: config, image: image)
        let registry = try openRegistry()
        // Nodes that run it, and nodes and profiles pinned to it (they boot it next time).
        let pinned = try registry.nodes().filter { $0.generation == id && (config.profile($0.profile)?.image ?? "default") == image }.map(\.hostname.value)
        let profiles = config.profiles.filter { $0.generation == id && $0.image == image }.map { "profile \($0.name)" }
        let users = Array(Set(try registry.nodesUsing(image: image, generation: id) + pinned)).sorted() + profiles
        try store.withLock {
            try store.generations().checkRemovable(id, image: image, inUseBy: users)
            try store.remove(id)
        }
    }

    /// Packs a generation into an archive (`.tar.zst`) for another server.
    /// - Returns: the archive's size in bytes.
    public func exportImage(_ image: String, generation id: GenerationID, to file: String) throws -> Int64 {
        let store = ImageStore(config: try loadConfig(), image: image)
        guard store.generations().ids.contains(id) else {
            throw NotFoundError("generation", id.description, message: "image \(image) has no generation \(id)")
        }
        try ImageArchive.pack(store.generationDir(id), to: file)
        return Int64((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
    }

    /// Adds a generation from an archive made by `exportImage`, as the image's next id.
    /// - Returns: its id and, when activated, what was done to the boot files.
    public func importImage(_ image: String, from file: String, activate: Bool) throws -> (id: GenerationID, bootFiles: String?) {
        let config = try loadConfig()
        guard FileManager.default.isReadableFile(atPath: file) else { throw SystemError("cannot read archive \(quoted(file))") }
        let id = try ImageStore(config: config, image: image).importArchive(file, activate: activate)
        return (id, activate ? try reapplyBootFiles(config) : nil)
    }
}

extension Site {
    /// Checks that a generation (default: the active one) can boot a
    /// diskless node; over NFS too when this site's NFS server runs.
    /// - Returns: the generation checked and each check.
    /// - Throws: `NotFoundError` for a generation that does not exist, `ConflictError` when none is active.
    public func verifyImage(_ image: String, generation: GenerationID?) throws -> (id: GenerationID, checks: [VerifyCheck]) {
        let config = try loadConfig()
        let store = ImageStore(config: config, image: image)
        let set = store.generations()
        guard let id = generation ?? set.active else { throw ConflictError("image \(image) has no active generation") }
        guard set.ids.contains(id) else { throw NotFoundError("generation", id.description, message: "image \(image) has no generation \(id)") }
        let nfs = BootDaemons.nfs(config)?.isRunning == true ? NFSProbe(server: config.serverIP.description, export: config.imagesDir) : nil
        return (id, ImageVerifier(store: store).verify(id, nfs: nfs))
    }
}
