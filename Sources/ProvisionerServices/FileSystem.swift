// ProvisionerServices: the adapters that touch the system — files, processes,
// dnsmasq — and the apply pipeline built on them.
import Foundation

/// A failure while touching the system, with what was being attempted.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}

func errnoText() -> String { String(cString: strerror(errno)) }

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

    /// Writes many files, each through a temp file and a rename. More than a
    /// few: one sync of all the data before the renames instead of one fsync each.
    /// - Throws: `SystemError` naming the file; no temp file is left behind.
    public static func writeAll(_ files: [(path: String, contents: Data, mode: UInt16)]) throws {
        var dirs = Set<String>()
        for f in files { dirs.insert((f.path as NSString).deletingLastPathComponent) }
        for dir in dirs.sorted() { try makeDirectory(dir) }
        let bulk = files.count > 16
        var temps: [(tmp: String, path: String)] = []
        temps.reserveCapacity(files.count)
        do {
            for f in files {
                temps.append((try writeTemp(f.contents, for: f.path, mode: f.mode, sync: !bulk), f.path))
            }
        } catch {
            for t in temps { unlink(t.tmp) }
            throw error
        }
        if bulk { syncFileSystems() }
        for t in temps { try commit(t.tmp, to: t.path) }
        for dir in dirs { syncDirectory(of: dir + "/.") }
    }

    /// Writes a temp file beside `path` (not yet visible under its name).
    /// - Returns: the temp path, for `commit`.
    static func writeTemp(_ contents: Data, for path: String, mode: UInt16, sync: Bool) throws -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw SystemError("writing \(path): \(errnoText())") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var bytes = contents
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in write(fd, buf.baseAddress! + written, buf.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let text = errnoText()
                close(fd)
                throw SystemError("writing \(path): \(text)")
            }
            written += n
        }
        fchmod(fd, mode_t(mode))
        if sync && fsync(fd) != 0 {
            let text = errnoText()
            close(fd)
            throw SystemError("writing \(path): \(text)")
        }
        guard close(fd) == 0 else { throw SystemError("writing \(path): \(errnoText())") }
        ok = true
        return tmp
    }

    /// Renames a temp file over its target: the switch a reader sees.
    static func commit(_ tmp: String, to path: String) throws {
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

    /// Flushes written data to disk in one call, for many files at once
    /// (syncfs(2) is not exported to Swift by Glibc; sync(2) covers it).
    static func syncFileSystems() {
        sync()
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
    static func list(_ dir: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    }
}
