import Crypto
import Foundation
import ProvisionerCore

/// What the last apply wrote: the digest of everything its render read
/// (config, templates, nodes, active generations, cluster secret, boot
/// loaders, this binary) and each file's metadata on disk after the write.
/// An apply whose inputs have the same digest, over files that all still
/// have that metadata (and no stray file in the node directories), has
/// nothing to do: it is known without rendering or reading a file.
///
/// Kept in the run directory: lost at a reboot (or removed by hand), the
/// next apply compares every file as before and writes it again.
struct ApplyManifest: Codable, Equatable {
    struct FileState: Codable, Equatable {
        var size: Int64
        var mtimeNs: Int64
        var inode: UInt64
        var mode: UInt16
    }

    var inputs: String
    var files: [String: FileState]
    /// The render's warnings, said again by an apply that renders nothing.
    var warnings: [String]

    static func path(_ config: SiteConfig) -> String { config.runDir + "/apply.manifest" }

    static func load(_ config: SiteConfig) -> ApplyManifest? {
        FileSystem.read(path(config)).flatMap { try? JSONDecoder().decode(ApplyManifest.self, from: $0) }
    }

    /// Records `paths` as they are on disk now; a path that cannot be read is left out (so it never matches).
    /// Only a shortcut: when it cannot be written, there is none, and the next apply compares every file.
    static func record(_ config: SiteConfig, inputs: String, paths: [String], warnings: [String]) {
        var files: [String: FileState] = [:]
        files.reserveCapacity(paths.count)
        for p in paths { if let s = state(p) { files[p] = s } }
        do {
            try FileSystem.makeDirectory(config.runDir)
            try FileSystem.writeAtomically(try JSONEncoder().encode(ApplyManifest(inputs: inputs, files: files, warnings: warnings)), to: path(config), mode: 0o600)
        } catch {
            invalidate(config)
        }
    }

    /// Forgets the manifest (the files changed some other way: a node command wrote its files).
    static func invalidate(_ config: SiteConfig) {
        unlink(path(config))
    }

    static func state(_ path: String) -> FileState? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileState(size: Int64(st.st_size), mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                         inode: UInt64(st.st_ino), mode: UInt16(st.st_mode & 0o7777))
    }

    /// Whether every recorded file is as it was written, and the node
    /// directories hold no file apply would remove.
    func intact(ownedDirs: [(dir: String, prefix: String, suffix: String)]) -> Bool {
        for (path, recorded) in files where Self.state(path) != recorded { return false }
        for owned in ownedDirs {
            for name in FileSystem.list(owned.dir) where name.hasPrefix(owned.prefix) && name.hasSuffix(owned.suffix) && !name.hasPrefix(".") {
                if files[owned.dir + "/" + name] == nil { return false }
            }
        }
        return true
    }

    /// The digest of a render's inputs.
    static func inputs(configText: Data, templates: Templates, site: BootSite) -> String {
        var h = SHA256()
        func add(_ s: String) { h.update(data: Data(s.utf8)); h.update(data: Data([0])) }
        // This binary: another version may render differently.
        if let exe = state("/proc/self/exe") ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).flatMap(state) {
            add("exe \(exe.size) \(exe.mtimeNs) \(exe.inode)")
        }
        h.update(data: configText)
        for (name, text) in templates.texts.sorted(by: { $0.key < $1.key }) { add(name); add(text) }
        for (image, gen) in site.generations.sorted(by: { $0.key < $1.key }) { add("gen \(image) \(gen)") }
        add("secret " + (site.secret.map { Data($0).base64EncodedString() } ?? "none"))
        for loader in Applier.bootLoaders {
            let s = state(loader.source)
            add("loader \(loader.source) \(s?.size ?? -1) \(s?.mtimeNs ?? -1)")
        }
        // What a node's files are made of (not its run-time state).
        for n in site.nodes { add("\(n.hostname) \(n.mac?.description ?? "-") \(n.ip) \(n.profile) \(n.generation?.description ?? "-")") }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
