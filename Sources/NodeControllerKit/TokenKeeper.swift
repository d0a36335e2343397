import Glibc

/// Where a node keeps the enrollment token serve gave it when its boot files
/// carried none (pxelinux and GRUB read theirs over TFTP): serve gives a
/// node its token only while the node is not up (no recent heartbeat), so a
/// controller that restarts later in the boot enrolls again with the kept
/// one. On the node's tmpfs (`/run`): gone at the next boot, root's only.
public struct TokenKeeper: Sendable {
    public static let defaultPath = "/run/provisioner/node-token"
    public let path: String

    public init(path: String = TokenKeeper.defaultPath) { self.path = path }

    /// The kept token; nil when there is none (or it is not a token).
    public func load() -> String? {
        guard let bytes = Posix.head(path, count: 512) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmedWhitespace()
        return Self.isToken(text) ? text : nil
    }

    /// Whether `text` can be a token: one word of printable ASCII.
    public static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    /// Forgets the kept token (serve no longer takes it).
    public func remove() { unlink(path) }

    /// Keeps `token`: written beside its name (0600) and renamed into place.
    /// - Returns: false when it could not be written.
    @discardableResult
    public func save(_ token: String) -> Bool {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            let dir = String(path[..<slash])
            if mkdir(dir, 0o700) != 0 && errno != EEXIST { return false }
        }
        let temp = path + ".tmp"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temp, path) == 0 else {
            unlink(temp)
            return false
        }
        return true
    }
}
