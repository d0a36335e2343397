import Crypto
import Foundation
import ProvisionerCore
import Synchronization
import ProvisionerPlatform

/// What the last apply wrote: the digest of everything its render read
/// (config, templates, nodes, active generations, boot
/// loaders, this binary) and each file's metadata on disk after the write.
/// An apply whose inputs have the same digest, over files that all still
/// have that metadata (and no stray file in the node directories), has
/// nothing to do: it is known without rendering or reading a file.
///
/// Kept in the run directory: lost at a reboot (or removed by hand), the
/// next apply compares every file as before and writes it again.
package struct ApplyManifest: Equatable {
    package struct FileState: Equatable {
        var size: Int64
        var mtimeNs: Int64
        var inode: UInt64
        var mode: UInt16
    }

    package var inputs: String
    /// Path and state, in the order written.
    package var files: [(path: String, state: FileState)]
    /// The render's warnings, said again by an apply that renders nothing.
    package var warnings: [String]

    package static func == (a: ApplyManifest, b: ApplyManifest) -> Bool {
        a.inputs == b.inputs && a.warnings == b.warnings && a.files.elementsEqual(b.files) { $0.path == $1.path && $0.state == $1.state }
    }

    package static func path(_ config: SiteConfig) -> String { config.runDir + "/apply.manifest" }

    /// One line each: a header, `inputs HEX`, `warning TEXT`…, `f SIZE MTIME_NS INODE MODE PATH`…
    /// (plain text: 40,000 lines read in milliseconds, where JSON took a third of a second).
    package var text: String {
        var out = "provisioner-apply-manifest 1\ninputs \(inputs)\n"
        for w in warnings { out += "warning " + w.replacingOccurrences(of: "\n", with: " ") + "\n" }
        for f in files { out += "f \(f.state.size) \(f.state.mtimeNs) \(f.state.inode) \(f.state.mode) \(f.path)\n" }
        return out
    }

    package init(inputs: String, files: [(path: String, state: FileState)], warnings: [String]) {
        self.inputs = inputs
        self.files = files
        self.warnings = warnings
    }

    /// Parses a manifest's bytes; nil for anything else (then the apply compares every file).
    /// Byte by byte: 40,000 lines in a few milliseconds.
    package init?(bytes: UnsafeRawBufferPointer) {
        var lines: [Range<Int>] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0a {
            if i > start { lines.append(start..<i) }
            start = i + 1
        }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
        guard lines.count >= 2, text(lines[0]) == "provisioner-apply-manifest 1" else { return nil }
        let second = text(lines[1])
        guard second.hasPrefix("inputs ") else { return nil }
        inputs = String(second.dropFirst(7))
        warnings = []
        files = []
        files.reserveCapacity(lines.count)
        for r in lines.dropFirst(2) {
            if bytes[r.lowerBound] == UInt8(ascii: "w") {
                let line = text(r)
                guard line.hasPrefix("warning ") else { return nil }
                warnings.append(String(line.dropFirst(8)))
                continue
            }
            // f SIZE MTIME INODE MODE PATH
            guard bytes[r.lowerBound] == UInt8(ascii: "f"), r.count > 2, bytes[r.lowerBound + 1] == 0x20 else { return nil }
            var i = r.lowerBound + 2
            var numbers: [UInt64] = []
            while numbers.count < 4 {
                var n: UInt64 = 0
                let first = i
                while i < r.upperBound, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                    n = n &* 10 &+ UInt64(bytes[i] - 0x30)
                    i += 1
                }
                guard i > first, i < r.upperBound, bytes[i] == 0x20 else { return nil }
                numbers.append(n)
                i += 1
            }
            guard i < r.upperBound else { return nil }
            files.append((text(i..<r.upperBound), FileState(size: Int64(numbers[0]), mtimeNs: Int64(numbers[1]), inode: numbers[2], mode: UInt16(truncatingIfNeeded: numbers[3]))))
        }
    }

    package static func load(_ config: SiteConfig) -> ApplyManifest? {
        FileSystem.read(path(config)).flatMap { data in data.withUnsafeBytes { ApplyManifest(bytes: $0) } }
    }

    /// Records `paths` as they are on disk now; a path that cannot be read is left out (so it never matches).
    /// Only a shortcut: when it cannot be written, there is none, and the next apply compares every file.
    package static func record(_ config: SiteConfig, inputs: String, paths: [String], warnings: [String]) {
        let files = paths.compactMap { p in state(p).map { (path: p, state: $0) } }
        do {
            try FileSystem.makeDirectory(config.runDir)
            try FileSystem.writeAtomically(ApplyManifest(inputs: inputs, files: files, warnings: warnings).text, to: path(config), mode: 0o600)
        } catch {
            invalidate(config)
        }
    }

    /// Forgets the manifest.
    package static func invalidate(_ config: SiteConfig) {
        unlink(path(config))
    }

    package static func state(_ path: String) -> FileState? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return state(st)
    }

    package static func state(_ st: stat) -> FileState? {
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileState(size: Int64(st.st_size), mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                         inode: UInt64(st.st_ino), mode: UInt16(st.st_mode & 0o7777))
    }

    /// Whether every recorded file is as it was written, and the node
    /// directories hold no file apply would remove: each holds exactly as
    /// many of its files as the manifest, all of which are there.
    package func intact(ownedDirs: [(dir: String, prefix: String, suffix: String)]) -> Bool {
        // The files are checked in slices, one per core (the stat calls are most of an unchanged apply).
        let slices = files.count < 4096 ? 1 : max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let per = (files.count + slices - 1) / max(slices, 1)
        let results = Mutex<[[Int]?]>(Array(repeating: nil, count: slices))
        DispatchQueue.concurrentPerform(iterations: slices) { k in
            let counts = Self.check(files[min(k * per, files.count)..<min((k + 1) * per, files.count)], ownedDirs)
            results.withLock { $0[k] = counts }
        }
        let all = results.withLock { $0 }
        guard all.allSatisfy({ $0 != nil }) else { return false }
        for (i, owned) in ownedDirs.enumerated() {
            let recorded = all.reduce(0) { $0 + $1![i] }
            let present = FileSystem.list(owned.dir).filter { $0.hasPrefix(owned.prefix) && $0.hasSuffix(owned.suffix) && !$0.hasPrefix(".") }.count
            if present != recorded { return false }
        }
        return true
    }

    /// Checks files against their recorded state; nil at the first that differs,
    /// else how many of them are in each owned directory.
    package static func check(_ files: ArraySlice<(path: String, state: FileState)>, _ ownedDirs: [(dir: String, prefix: String, suffix: String)]) -> [Int]? {
        var recordedIn = [Int](repeating: 0, count: ownedDirs.count)
        let dirs = ownedDirs.map { $0.dir + "/" }
        // Each file is looked up relative to its open directory: one path component
        // for the kernel to walk instead of the whole path.
        var openDir: (path: Substring, fd: Int32)?
        defer { if let d = openDir { close(d.fd) } }
        for f in files {
            let slash = f.path.utf8.lastIndex(of: UInt8(ascii: "/")) ?? f.path.utf8.startIndex
            let dir = f.path[..<slash]
            if openDir?.path != dir {
                if let d = openDir { close(d.fd) }
                let fd = open(String(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { openDir = nil; return nil }
                openDir = (dir, fd)
            }
            let name = f.path[f.path.utf8.index(after: slash)...]
            var st = stat()
            guard fstatat(openDir!.fd, String(name), &st, AT_SYMLINK_NOFOLLOW) == 0, state(st) == f.state else { return nil }
            // In that very directory (not below it).
            for (i, d) in dirs.enumerated() where dir.utf8.count + 1 == d.utf8.count && f.path.utf8.starts(with: d.utf8) {
                if name.hasPrefix(ownedDirs[i].prefix), name.hasSuffix(ownedDirs[i].suffix) { recordedIn[i] += 1 }
            }
        }
        return recordedIn
    }

    /// The digest of a render's inputs: the config file, the templates, the
    /// active generations, the boot loaders, this binary,
    /// and the registry's nodes token (it changes with any change to what a
    /// node's files are made of; read before the nodes, so a change in between
    /// only costs a full comparison next time).
    package static func inputs(configText: Data, templates: Templates, generations: [String: String], nodesToken: String) -> String {
        var h = SHA256()
        func add(_ s: String) { h.update(data: Data(s.utf8)); h.update(data: Data([0])) }
        // This binary: another version may render differently.
        if let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).flatMap({ state($0) }) {
            add("exe \(exe.size) \(exe.mtimeNs) \(exe.inode)")
        }
        h.update(data: configText)
        for (name, text) in templates.texts.sorted(by: { $0.key < $1.key }) { add(name); add(text) }
        for (image, gen) in generations.sorted(by: { $0.key < $1.key }) { add("gen \(image) \(gen)") }
        for loader in Applier.bootLoaders {
            let s = state(loader.source)
            add("loader \(loader.source) \(s?.size ?? -1) \(s?.mtimeNs ?? -1)")
        }
        add("nodes " + nodesToken)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
