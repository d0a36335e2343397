import CLibvirt
import FoundationEssentials
import Glibc

/// A libvirt failure: what was being attempted and libvirt's own message.
public struct LibvirtError: Error, CustomStringConvertible, Equatable {
    public var operation: String
    public var message: String
    /// `virErrorNumber` (e.g. 42 = no domain), -1 when libvirt gave none.
    public var code: Int32

    public var description: String { "\(operation): \(message)" }

    /// Captures this thread's last libvirt error (virSaveLastError), for the call that just failed.
    static func last(_ operation: String) -> LibvirtError {
        guard let saved = virSaveLastError() else {
            return LibvirtError(operation: operation, message: "unknown libvirt error", code: -1)
        }
        defer { virFreeError(saved) }
        let message = saved.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error"
        return LibvirtError(operation: operation, message: message, code: saved.pointee.code)
    }

    var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
}

/// Process-wide libvirt setup, done once: initialize, silence the default stderr error
/// printer (errors are captured into `LibvirtError`), and run the default event loop on a
/// thread of its own (the embedded QEMU driver and keepalives need it).
enum LibvirtRuntime {
    private static let setUp: Bool = {
        _ = virInitialize()
        virSetErrorFunc(nil) { _, _ in }
        guard virEventRegisterDefaultImpl() == 0 else { return false }
        Posix.detachThread(name: "libvirt-events") {
            while true {
                if virEventRunDefaultImpl() < 0 { usleep(100_000) }
            }
        }
        return true
    }()

    /// Idempotent.
    static func ensure() { _ = setUp }

    /// "9.0.0" from libvirt's packed version number.
    static func versionString(_ packed: UInt) -> String {
        "\(packed / 1_000_000).\((packed / 1000) % 1000).\(packed % 1000)"
    }
}

/// An open libvirt connection, closed when released.
final class LibvirtConnection: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    var isAlive: Bool { virConnectIsAlive(pointer) == 1 }

    deinit { virConnectClose(pointer) }
}
