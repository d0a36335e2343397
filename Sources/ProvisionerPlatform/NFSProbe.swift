import CNFS
import Foundation

/// Reads an NFS export from user space with libnfs, as a node would see it:
/// mount over NFSv3 (what the initramfs' `nfsmount` speaks), read a file, and
/// check the export refuses writes.
public struct NFSProbe: Sendable {
    public struct Result: Sendable, Equatable {
        /// The first bytes of the file read through the export.
        public var contents: String
        /// Whether creating a file through the export was refused.
        public var readOnly: Bool
        /// Why the write was refused (libnfs' message), when it was.
        public var writeError: String?
    }

    public var server: String
    public var export: String
    public var timeoutMilliseconds: Int32

    public init(server: String, export: String, timeoutMilliseconds: Int32 = 5000) {
        self.server = server
        self.export = export
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Mounts the export and reads `path` (relative to the export root).
    /// - Throws: `SystemError` with libnfs' message (no server, access denied, no file).
    public func read(_ path: String, probeWrite: String? = nil, maxBytes: Int = 64 * 1024) throws -> Result {
        guard let nfs = nfs_init_context() else { throw SystemError("libnfs: cannot create a context") }
        defer { nfs_destroy_context(nfs) }
        nfs_set_timeout(nfs, timeoutMilliseconds)
        _ = nfs_set_version(nfs, 3)
        guard nfs_mount(nfs, server, export) == 0 else {
            throw SystemError("mounting \(server):\(export) over NFSv3: \(message(nfs))")
        }
        var fh: OpaquePointer? = nil
        guard nfs_open(nfs, path, O_RDONLY, &fh) == 0, let fh else {
            throw SystemError("reading \(path) from \(server):\(export): \(message(nfs))")
        }
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        let n = buffer.withUnsafeMutableBytes { nfs_read(nfs, fh, UInt64($0.count), $0.baseAddress) }
        nfs_close(nfs, fh)
        guard n >= 0 else { throw SystemError("reading \(path) from \(server):\(export): \(message(nfs))") }
        let text = String(decoding: buffer[0..<Int(n)], as: UTF8.self)

        var readOnly = true
        var writeError: String? = nil
        if let probeWrite {
            var wfh: OpaquePointer? = nil
            if nfs_creat(nfs, probeWrite, 0o644, &wfh) == 0, let wfh {
                nfs_close(nfs, wfh)
                _ = nfs_unlink(nfs, probeWrite)
                readOnly = false
            } else {
                writeError = message(nfs)
            }
        }
        return Result(contents: text, readOnly: readOnly, writeError: writeError)
    }

    private func message(_ nfs: OpaquePointer) -> String {
        nfs_get_error(nfs).map { String(cString: $0) } ?? "unknown libnfs error"
    }
}
