import Foundation
import Synchronization

/// A failure while touching the system, with what was being attempted.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}

package func errnoText() -> String { String(cString: strerror(errno)) }

/// syncfs(2), which Glibc's Swift module does not export (it needs _GNU_SOURCE).
@_silgen_name("syncfs")
func syncFileSystem(_ fd: Int32) -> Int32

/// The process' umask, read once at first use (umask(2) can only be read by setting it).
let processUmask: mode_t = {
    let mask = umask(0o022)
    umask(mask)
    return mask
}()

/// Reads and writes files so that no reader ever sees half of one.
public enum FileSystem {
    /// The file's bytes, or nil when it does not exist.
    public static func read(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Creates `dir` and its parents with mode 0755.
    /// - Throws: `SystemError` naming the directory.
    public static func makeDirectory(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw SystemError("creating directory \(dir): \(error.localizedDescription)")
        }
    }

    /// Writes `contents` to `path` atomically: temp file in the same directory,
    /// fsync, rename, fsync of the directory.
    /// - Throws: `SystemError` naming the path.
    public static func writeAtomically(_ contents: String, to path: String, mode: UInt16 = 0o644) throws {
        try writeAtomically(Data(contents.utf8), to: path, mode: mode)
    }

    /// Bytes version of `writeAtomically(_:to:mode:)`.
    public static func writeAtomically(_ contents: Data, to path: String, mode: UInt16 = 0o644) throws {
        let tmp = try writeTemp(contents, for: path, mode: mode, sync: true)
        try commit(tmp, to: path)
        syncDirectory(of: path)
    }

    /// Writes many files so that none is ever seen half-written. More than a
    /// few: one sync of all the data before anything becomes visible, instead
    /// of one fsync per file. A directory that does not exist yet and gets
    /// many files (the node directories on a first apply) is written whole
    /// beside its final name and renamed into place: it appears complete, and
    /// one rename replaces one per file. Every other file goes through a temp
    /// file and a rename. (A directory that exists is never replaced: dnsmasq
    /// watches `dhcp-hostsdir` by inode.)
    /// - Throws: `SystemError` naming the file; no temp file or staging
    ///   directory is left behind.
    public static func writeAll(_ files: [(path: String, contents: Data, mode: UInt16)]) throws {
        var byDir: [String: [Int]] = [:]
        for (i, f) in files.enumerated() { byDir[(f.path as NSString).deletingLastPathComponent, default: []].append(i) }
        let bulk = files.count > 16
        // Staged: absent, many files, and no other written directory below it.
        let staged = Set(byDir.filter { dir, idx in
            bulk && idx.count > 16 && !FileManager.default.fileExists(atPath: dir)
                && !byDir.keys.contains { $0 != dir && $0.hasPrefix(dir + "/") }
        }.keys)
        for dir in byDir.keys.sorted() where !staged.contains(dir) { try makeDirectory(dir) }
        var temps: [(tmp: String, path: String)] = []
        var stages: [(staging: String, dir: String)] = []
        do {
            for dir in staged.sorted() {
                try makeDirectory((dir as NSString).deletingLastPathComponent)
                let staging = "\((dir as NSString).deletingLastPathComponent)/.\((dir as NSString).lastPathComponent).new-\(getpid())"
                _ = try? removeTree(staging)
                guard mkdir(staging, 0o755) == 0 else { throw SystemError("creating directory \(staging): \(errnoText())") }
                stages.append((staging, dir))
            }
            // File creation is most of the time: chunks on every core, taken
            // round-robin across the directories so that two threads rarely
            // wait on the same directory's lock (one directory per thread left
            // the third of three alone on two cores).
            let failures = Mutex<[any Error]>([])
            let work = stagedChunks(stages.map { (staging: $0.staging, indices: byDir[$0.dir] ?? []) }, size: 256)
            DispatchQueue.concurrentPerform(iterations: work.count) { k in
                // Names relative to the staging directory: the kernel walks one component, not the whole path.
                let dirFD = open(work[k].staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard dirFD >= 0 else {
                    let text = errnoText()
                    failures.withLock { $0.append(SystemError("opening \(work[k].staging): \(text)")) }
                    return
                }
                defer { close(dirFD) }
                do {
                    for i in work[k].indices {
                        let name = files[i].path.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(files[i].path[files[i].path.index(after: $0)...]) } ?? files[i].path
                        try writeFile(files[i].contents, to: name, in: dirFD, mode: files[i].mode, sync: false, reportAs: files[i].path)
                    }
                } catch { failures.withLock { $0.append(error) } }
            }
            if let first = failures.withLock({ $0.first }) { throw first }
            for (dir, idx) in byDir where !staged.contains(dir) {
                for i in idx { temps.append((try writeTemp(files[i].contents, for: files[i].path, mode: files[i].mode, sync: !bulk), files[i].path)) }
            }
        } catch {
            for t in temps { unlink(t.tmp) }
            for s in stages { _ = try? removeTree(s.staging) }
            throw error
        }
        if bulk { syncFileSystems(holding: byDir.keys.map { staged.contains($0) ? ($0 as NSString).deletingLastPathComponent : $0 }) }
        for s in stages {
            if rename(s.staging, s.dir) != 0 {
                // Someone made the directory meanwhile: move the files in one by one.
                let names = (try? FileManager.default.contentsOfDirectory(atPath: s.staging)) ?? []
                for name in names { try commit(s.staging + "/" + name, to: s.dir + "/" + name) }
                rmdir(s.staging)
                syncDirectory(of: s.dir + "/.")
            }
            syncDirectory(of: s.dir)
        }
        for t in temps { try commit(t.tmp, to: t.path) }
        for dir in byDir.keys where !staged.contains(dir) { syncDirectory(of: dir + "/.") }
    }

    /// The staged files in chunks of `size`, one chunk of each directory in turn.
    static func stagedChunks(_ dirs: [(staging: String, indices: [Int])], size: Int) -> [(staging: String, indices: ArraySlice<Int>)] {
        var out: [(staging: String, indices: ArraySlice<Int>)] = []
        var start = 0
        while dirs.contains(where: { start < $0.indices.count }) {
            for d in dirs where start < d.indices.count {
                out.append((d.staging, d.indices[start..<min(start + size, d.indices.count)]))
            }
            start += size
        }
        return out
    }

    /// Writes a temp file beside `path` (not yet visible under its name).
    /// - Returns: the temp path, for `commit`.
    static func writeTemp(_ contents: Data, for path: String, mode: UInt16, sync: Bool) throws -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        try writeFile(contents, to: tmp, mode: mode, sync: sync, reportAs: path)
        return tmp
    }

    /// Creates (or truncates) `file` (relative to `dirFD`, if given) with
    /// `contents` and `mode`; removed again on failure.
    /// - Throws: `SystemError` naming `reportAs`.
    static func writeFile(_ contents: Data, to file: String, in dirFD: Int32 = AT_FDCWD, mode: UInt16, sync: Bool, reportAs path: String) throws {
        let fd = openat(dirFD, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw SystemError("writing \(path): \(errnoText())") }
        var ok = false
        defer { if !ok { unlinkat(dirFD, file, 0) } }
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { buf in write(fd, buf.baseAddress! + written, buf.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let text = errnoText()
                close(fd)
                throw SystemError("writing \(path): \(text)")
            }
            written += n
        }
        // The umask may have taken bits off the mode open(2) was given.
        if mode_t(mode) & processUmask != 0 { fchmod(fd, mode_t(mode)) }
        if sync && fsync(fd) != 0 {
            let text = errnoText()
            close(fd)
            throw SystemError("writing \(path): \(text)")
        }
        guard close(fd) == 0 else { throw SystemError("writing \(path): \(errnoText())") }
        ok = true
    }

    package static func commit(_ tmp: String, to path: String) throws {
        guard rename(tmp, path) == 0 else {
            let text = errnoText()
            unlink(tmp)
            throw SystemError("renaming into \(path): \(text)")
        }
    }

    public static func syncDirectory(of path: String) {
        let dfd = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Flushes the file systems holding `dirs`, each once (syncfs(2)): the
    /// data of many files in one call each, and nothing of other file systems.
    static func syncFileSystems(holding dirs: [String]) {
        var done = Set<UInt64>()
        for dir in dirs {
            var st = stat()
            guard stat(dir, &st) == 0, done.insert(UInt64(st.st_dev)).inserted else { continue }
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 || syncFileSystem(fd) != 0 { sync() }
            if fd >= 0 { close(fd) }
        }
    }

    /// Removes a file; a file already gone is fine.
    /// - Throws: `SystemError` for any other failure.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw SystemError("removing \(path): \(errnoText())") }
    }

    /// Copies a file atomically (temp + fsync + rename), with `mode`.
    /// - Throws: `SystemError` naming the file.
    public static func copyFile(_ source: String, to path: String, mode: UInt16) throws {
        guard let data = read(source) else { throw SystemError("copying \(source): cannot read it") }
        try writeAtomically(data, to: path, mode: mode)
    }

    /// Removes a directory tree: first detaches anything mounted inside it (a
    /// killed mmdebstrap can leave /proc and /sys mounted in its root), then
    /// removes it without following symlinks or crossing into another file
    /// system. A tree already gone is fine.
    /// - Throws: `SystemError`.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        // A link is removed as a link: what it points at is not this tree.
        if st.st_mode & S_IFMT == S_IFLNK {
            guard unlink(path) == 0 || errno == ENOENT else { throw SystemError("removing \(path): \(String(cString: strerror(errno)))") }
            return
        }
        let real = (path as NSString).resolvingSymlinksInPath
        for mount in mountPoints(under: real).sorted(by: { $0.count > $1.count }) {
            umount2(mount, Int32(MNT_DETACH))
        }
        let r = try ProcessRunner.run("/bin/rm", ["-rf", "--one-file-system", "--", path])
        if r.status != 0 { throw SystemError("removing \(path): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    /// Mount points at or below `dir`, from /proc/self/mountinfo.
    static func mountPoints(under dir: String) -> [String] {
        let info = String(decoding: read("/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        return info.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            // Octal escapes (\040 for a space) as the kernel writes them.
            let point = String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            return point == dir || point.hasPrefix(dir + "/") ? point : nil
        }
    }

    /// Bytes available on the file system holding `path`
    /// (or its nearest existing parent).
    public static func freeBytes(at path: String) -> Int64? {
        var p = path
        while !p.isEmpty, !FileManager.default.fileExists(atPath: p) { p = (p as NSString).deletingLastPathComponent }
        var s = statvfs()
        guard statvfs(p.isEmpty ? "/" : p, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// The names in a directory; empty when it does not exist.
    public static func list(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }
}
