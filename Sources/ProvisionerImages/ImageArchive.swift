import CArchive
import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// Image archives through libarchive: a root tree to and from `.tar.zst`
/// (the build cache, `image export` and `image import`), and the file list of
/// an initramfs (concatenated cpio archives, compressed or not).
public enum ImageArchive {
    /// Packs `dir` into a zstd-compressed pax tar at `file` (written beside
    /// and renamed into place), keeping owners, modes, times, xattrs,
    /// hard links, device nodes and symlinks. Paths in the archive are
    /// relative (`./usr/bin/…`).
    /// - Throws: `SystemError` with libarchive's message.
    public static func pack(_ dir: String, to file: String) throws {
        let tmp = "\(file).tmp-\(getpid())"
        do {
            try packUnrenamed(dir, to: tmp)
            try FileSystem.commit(tmp, to: file)
        } catch {
            unlink(tmp)
            throw error
        }
    }

    private static func packUnrenamed(_ dir: String, to file: String) throws {
        guard let w = archive_write_new() else { throw SystemError("packing \(dir): out of memory") }
        defer { archive_write_free(w) }
        archive_write_set_format_pax_restricted(w)
        archive_write_add_filter_zstd(w)
        // Use every core when this libarchive can (an unknown option is harmless).
        _ = archive_write_set_filter_option(w, "zstd", "threads", String(ProcessInfo.processInfo.activeProcessorCount))
        guard archive_write_open_filename(w, file) == ARCHIVE_OK else { throw failure(w, "packing \(dir) into \(file)") }

        guard let disk = archive_read_disk_new() else { throw SystemError("packing \(dir): out of memory") }
        defer { archive_read_free(disk) }
        archive_read_disk_set_standard_lookup(disk)
        archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS)
        guard archive_read_disk_open(disk, dir) == ARCHIVE_OK else { throw failure(disk, "reading \(dir)") }

        guard let resolver = archive_entry_linkresolver_new() else { throw SystemError("packing \(dir): out of memory") }
        defer { archive_entry_linkresolver_free(resolver) }
        archive_entry_linkresolver_set_strategy(resolver, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)

        let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            guard let entry = archive_entry_new() else { throw SystemError("packing \(dir): out of memory") }
            defer { archive_entry_free(entry) }
            let r = archive_read_next_header2(disk, entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN else { throw failure(disk, "reading \(dir)") }
            archive_read_disk_descend(disk)
            let full = String(cString: archive_entry_pathname(entry))
            let rel = full == base ? "." : "." + full.dropFirst(base.count)
            archive_entry_set_pathname(entry, rel)
            // The read_disk entry must keep reading its data: linkify a clone.
            var linked: OpaquePointer? = archive_entry_clone(entry)
            var spare: OpaquePointer? = nil
            archive_entry_linkify(resolver, &linked, &spare)
            if let spare { archive_entry_free(spare) }
            guard let out = linked else { continue }
            defer { archive_entry_free(out) }
            guard archive_write_header(w, out) >= ARCHIVE_WARN else { throw failure(w, "packing \(rel)") }
            if archive_entry_filetype(out) == 0o100000 /* S_IFREG */, archive_entry_size(out) > 0 {
                while true {
                    let n = buffer.withUnsafeMutableBytes { archive_read_data(disk, $0.baseAddress, $0.count) }
                    if n == 0 { break }
                    guard n > 0 else { throw failure(disk, "reading \(full)") }
                    let written = buffer.withUnsafeBytes { archive_write_data(w, $0.baseAddress, Int(n)) }
                    guard written >= 0 else { throw failure(w, "packing \(rel)") }
                }
            }
        }
        guard archive_write_close(w) == ARCHIVE_OK else { throw failure(w, "finishing \(file)") }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// What an archive from elsewhere may hold (`image import`): the named
    /// top-level files, each a regular file (never a link, which a published
    /// copy would follow to a secret of the server), and one tree (the root)
    /// where anything a root holds goes, except device nodes outside its
    /// `dev/`; and at most `maxBytes` of file data.
    public struct Rules: Sendable {
        public var files: Set<String>
        public var tree: String
        public var maxBytes: Int64
        public var maxEntries: Int

        public init(files: Set<String>, tree: String, maxBytes: Int64, maxEntries: Int) {
            self.files = files
            self.tree = tree
            self.maxBytes = maxBytes
            self.maxEntries = maxEntries
        }

        /// An `image export`: meta.json, kernel, initrd, the root image and the
        /// root; 64 GiB and 5 million entries at most (a Debian root has ~30,000).
        public static let imageExport = Rules(files: ["meta.json", "vmlinuz", "initrd.img", Paths.rootImageName], tree: "root",
                                              maxBytes: 64 << 30, maxEntries: 5_000_000)

        /// Why the entry `rel` (`""`: the archive's top) of type `type` may not be
        /// unpacked; nil when it may. `hardLink` is its target, when it is one;
        /// `regular` the regular files unpacked so far (a hard link's target must
        /// be one: a link entry does not say what it links to).
        func refusal(_ rel: String, type: mode_t, hardLink: String?, regular: Set<String>) -> String? {
            if rel.isEmpty || rel == tree {
                // The top and the root itself: directories, never links (a link
                // there would put the archive's files, or the root, elsewhere).
                return type == S_IFDIR && hardLink == nil ? nil : "not a directory"
            }
            if rel.hasPrefix(tree + "/") {
                if let target = hardLink {
                    return target.hasPrefix(tree + "/") && regular.contains(target) ? nil : "a hard link to \(quoted(target)), not to a regular file of \(tree)/"
                }
                if type == S_IFCHR || type == S_IFBLK, !rel.hasPrefix(tree + "/dev/") {
                    return "a device node outside \(tree)/dev"
                }
                return nil
            }
            guard files.contains(rel) else { return "not part of an image export (expected \(files.sorted().joined(separator: ", ")) and \(tree)/)" }
            guard type == S_IFREG, hardLink == nil else { return "not a regular file" }
            return nil
        }
    }

    /// Unpacks an archive (any format and compression libarchive reads) into
    /// `dir`, which must exist. Entries with absolute paths or `..` are
    /// refused, so an imported archive cannot write outside `dir`; with
    /// `rules`, so is every entry they refuse, before anything of it is written.
    /// - Returns: the number of entries.
    /// - Throws: `SystemError` naming the entry, `ValidationError` for what `rules` refuse.
    @discardableResult
    public static func unpack(_ file: String, into dir: String, rules: Rules? = nil) throws -> Int {
        guard let r = archive_read_new(), let w = archive_write_disk_new() else { throw SystemError("unpacking \(file): out of memory") }
        defer { archive_read_free(r); archive_write_free(w) }
        archive_read_support_filter_all(r)
        archive_read_support_format_all(r)
        let flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR
            | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS
        archive_write_disk_set_options(w, flags)
        archive_write_disk_set_standard_lookup(w)
        guard archive_read_open_filename(r, file, 1 << 20) == ARCHIVE_OK else { throw failure(r, "opening \(file)") }
        let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        var count = 0
        var total: Int64 = 0
        var regular = Set<String>()
        var entry: OpaquePointer? = nil
        while true {
            let h = archive_read_next_header(r, &entry)
            if h == ARCHIVE_EOF { break }
            guard h >= ARCHIVE_WARN, let entry else { throw failure(r, "reading \(file)") }
            let name = String(cString: archive_entry_pathname(entry))
            guard let rel = safeRelative(name) else { throw SystemError("unpacking \(file): refusing entry \(quoted(name)) (absolute or with ..)") }
            // A hard link's target, relative to `dir` like the entry's own name.
            var hardLink: String?
            if let hl = archive_entry_hardlink(entry) {
                let target = String(cString: hl)
                guard let relTarget = safeRelative(target), !relTarget.isEmpty else {
                    throw ValidationError(field: "image archive", value: file, reason: "refusing hard link \(quoted(name)) → \(quoted(target))")
                }
                hardLink = relTarget
            }
            if let rules {
                let type = mode_t(archive_entry_filetype(entry))
                if let why = rules.refusal(rel, type: type, hardLink: hardLink, regular: regular) {
                    throw ValidationError(field: "image archive", value: file, reason: "entry \(quoted(rel.isEmpty ? "." : rel)) is \(why)")
                }
                if type == S_IFREG, hardLink == nil { regular.insert(rel) }
                total += archive_entry_size(entry)
                guard total <= rules.maxBytes, count < rules.maxEntries else {
                    throw ValidationError(field: "image archive", value: file,
                                          reason: "more than \(total > rules.maxBytes ? "\(rules.maxBytes) bytes of data" : "\(rules.maxEntries) entries")")
                }
            }
            archive_entry_set_pathname(entry, rel.isEmpty ? base : base + "/" + rel)
            if let hardLink { archive_entry_set_hardlink(entry, base + "/" + hardLink) }
            guard archive_write_header(w, entry) >= ARCHIVE_WARN else { throw failure(w, "unpacking \(name)") }
            if archive_entry_size(entry) > 0 {
                var block: UnsafeRawPointer? = nil
                var size = 0
                var offset: la_int64_t = 0
                while true {
                    let d = archive_read_data_block(r, &block, &size, &offset)
                    if d == ARCHIVE_EOF { break }
                    guard d >= ARCHIVE_WARN else { throw failure(r, "reading \(name) from \(file)") }
                    guard archive_write_data_block(w, block, size, offset) >= ARCHIVE_WARN else { throw failure(w, "writing \(name)") }
                }
            }
            guard archive_write_finish_entry(w) >= ARCHIVE_WARN else { throw failure(w, "finishing \(name)") }
            count += 1
        }
        guard archive_write_close(w) == ARCHIVE_OK else { throw failure(w, "finishing \(dir)") }
        return count
    }

    /// `./usr/bin` → `usr/bin`; nil for absolute paths and any `..` component.
    static func safeRelative(_ path: String) -> String? {
        if path.hasPrefix("/") { return nil }
        var parts: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { return nil }
            parts.append(c)
        }
        return parts.joined(separator: "/")
    }

    /// The paths inside an initramfs image: every segment of a concatenation
    /// of cpio archives (an uncompressed early one, then a compressed main one),
    /// without a leading `./`.
    /// - Throws: `SystemError` when it cannot be read as an initramfs.
    public static func initramfsEntries(_ file: String) throws -> [String] {
        guard let data = FileSystem.read(file) else { throw SystemError("reading initrd \(file): no such file") }
        var names: [String] = []
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            // Skip the zero padding between segments.
            while offset < bytes.count, bytes[offset] == 0 { offset += 1 }
            if offset >= bytes.count { break }
            let segment = Array(bytes[offset...])
            names += try listSegment(segment, file: file)
            // An uncompressed newc segment ends at its trailer; a compressed one is the last.
            guard segment.starts(with: Array("070701".utf8)) || segment.starts(with: Array("070702".utf8)),
                  let end = trailerEnd(segment) else { break }
            offset += end
        }
        return names
    }

    private static func listSegment(_ bytes: [UInt8], file: String) throws -> [String] {
        guard let r = archive_read_new() else { throw SystemError("reading \(file): out of memory") }
        defer { archive_read_free(r) }
        archive_read_support_filter_all(r)
        archive_read_support_format_cpio(r)
        return try bytes.withUnsafeBytes { buf -> [String] in
            guard archive_read_open_memory(r, buf.baseAddress, buf.count) == ARCHIVE_OK else { throw failure(r, "reading initrd \(file)") }
            var names: [String] = []
            var entry: OpaquePointer? = nil
            while true {
                let h = archive_read_next_header(r, &entry)
                if h == ARCHIVE_EOF { break }
                guard h >= ARCHIVE_WARN, let entry else { throw failure(r, "reading initrd \(file)") }
                var name = String(cString: archive_entry_pathname(entry))
                if name.hasPrefix("./") { name.removeFirst(2) }
                names.append(name)
                archive_read_data_skip(r)
            }
            return names
        }
    }

    /// The offset just past the `TRAILER!!!` entry of an uncompressed newc archive.
    private static func trailerEnd(_ bytes: [UInt8]) -> Int? {
        let marker = Array("TRAILER!!!".utf8)
        guard bytes.count >= marker.count else { return nil }
        var i = 0
        while i + marker.count <= bytes.count {
            if bytes[i] == marker[0], Array(bytes[i..<(i + marker.count)]) == marker { return i + marker.count }
            i += 1
        }
        return nil
    }

    static func failure(_ a: OpaquePointer?, _ what: String) -> SystemError {
        let message = archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
        return SystemError("\(what): \(message)")
    }
}
