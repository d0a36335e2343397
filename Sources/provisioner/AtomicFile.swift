import Foundation

/// Writes `contents` to `path` so a reader sees the old file or the new one,
/// never half of it: temp file in the same directory, fsync, rename, fsync dir.
/// - Throws: `CommandError` naming the path and the system error.
func writeAtomically(_ contents: String, to path: String, mode: mode_t = 0o644) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let tmp = "\(dir)/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw CommandError("writing \(path): \(String(cString: strerror(errno)))") }
    var ok = false
    defer { if !ok { unlink(tmp) } }
    let bytes = Array(contents.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            close(fd)
            throw CommandError("writing \(path): \(String(cString: strerror(errno)))")
        }
        written += n
    }
    fchmod(fd, mode)
    guard fsync(fd) == 0, close(fd) == 0 else { throw CommandError("writing \(path): \(String(cString: strerror(errno)))") }
    guard rename(tmp, path) == 0 else { throw CommandError("renaming into \(path): \(String(cString: strerror(errno)))") }
    ok = true
    let dfd = open(dir, O_RDONLY | O_DIRECTORY)
    if dfd >= 0 { fsync(dfd); close(dfd) }
}
