import FoundationEssentials
import Glibc

/// Where the host's kernel interfaces live; a fixture directory in tests.
public struct HostPaths: Sendable, Equatable {
    /// Prefix of `proc/`, `sys/`, `dev/` and `run/`: "/" on a real host.
    public var root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? root : root + "/"
    }

    public func path(_ relative: String) -> String { root + relative }
    public var cmdline: String { path("proc/cmdline") }
    public var cpuinfo: String { path("proc/cpuinfo") }
    public var meminfo: String { path("proc/meminfo") }
    public var uptime: String { path("proc/uptime") }
    public var routes: String { path("proc/net/route") }
    public var classNet: String { path("sys/class/net") }
    public var modules: String { path("sys/module") }
    public var devKVM: String { path("dev/kvm") }
    public var run: String { path("run") }
    public var efi: String { path("sys/firmware/efi") }
    /// UEFI's global `SecureBoot` variable in efivarfs: 4 attribute bytes, then the value.
    public var secureBootVariable: String { path("sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c") }
}

/// Reads a whole file, including procfs/sysfs files whose size reads as 0.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let read = Posix.readAll(fd, limit: 16 * 1024 * 1024)
    return read.failed ? nil : String(decoding: read.bytes, as: UTF8.self)
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Names in a directory, sorted; empty when it cannot be read.
func directoryEntries(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// A thrown error with a message that names the thing and the value.
public struct ControllerError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
