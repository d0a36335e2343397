import FoundationEssentials
import Glibc
import ProvisionerAPI

/// The node's TPM, as its enrollment needs it: a signing key that lives in
/// the TPM, and a signature with it over the enrollment (`TPMProof`).
public protocol TPMSigner: Sendable {
    /// - Throws: `ControllerError` when the TPM cannot make the proof.
    func prove(_ message: [UInt8]) throws -> TPMProof
}

/// The live TPM through Debian's tpm2-tools (no hand-written TSS): the owner
/// hierarchy's ECDSA P-256 primary key, made again from the TPM's seed for
/// each proof (the same key on every boot of the same TPM; nothing of it is
/// stored on the node), then flushed.
public struct TPM2ToolsSigner: TPMSigner {
    /// The tools' TPM connection (`-T`); nil: their default, the kernel's resource manager (/dev/tpmrm0).
    public var tcti: String?
    /// A private directory for the key's context, the message and the signature.
    public var workDir: String
    public var toolsDir: String

    /// The primary key's template: a restricted-to-this-TPM signing key made from the owner seed.
    static let algorithm = "ecc256:ecdsa-sha256"
    static let attributes = "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"

    public init(tcti: String? = nil, workDir: String = "/run/provisioner/tpm", toolsDir: String = "/usr/bin") {
        self.tcti = tcti
        self.workDir = workDir
        self.toolsDir = toolsDir
    }

    /// Whether this node has a TPM 2.0 and the tools: the kernel's resource
    /// manager, or the firmware's TPM2 ACPI table (the controller starts
    /// before udev loads the driver: `prove` waits for the device).
    public static func present(toolsDir: String = "/usr/bin") -> Bool {
        access(toolsDir + "/tpm2_sign", X_OK) == 0
            && (access("/dev/tpmrm0", F_OK) == 0 || access("/sys/firmware/acpi/tables/TPM2", F_OK) == 0)
    }

    /// Seconds `prove` waits for /dev/tpmrm0 to appear (udev's coldplug loads tpm_tis seconds into a boot).
    public var deviceWait: Double = 60

    public func prove(_ message: [UInt8]) throws -> TPMProof {
        if tcti == nil {
            var waited = 0.0
            while access("/dev/tpmrm0", R_OK | W_OK) != 0 {
                guard waited < deviceWait else { throw ControllerError("TPM: no /dev/tpmrm0 after \(Int(deviceWait)) s") }
                usleep(200_000)
                waited += 0.2
            }
        }
        // Its parents too (/run/provisioner is the initramfs' on a node, not there elsewhere).
        var path = ""
        for part in workDir.split(separator: "/") {
            path += "/" + part
            mkdir(path, 0o755)
        }
        chmod(workDir, 0o700)
        let (context, publicKey, input, signature) = (workDir + "/key.ctx", workDir + "/key.pem", workDir + "/message", workDir + "/signature")
        defer { for f in [context, publicKey, input, signature] { unlink(f) } }
        try Self.write(message, to: input)
        let connection = tcti.map { ["-T", $0] } ?? []
        try tool("tpm2_createprimary", ["-Q", "-C", "o", "-g", "sha256", "-G", Self.algorithm, "-a", Self.attributes, "-c", context] + connection)
        // Each tool loads the saved context again: without the kernel's resource manager
        // (which flushes a connection's objects when it closes) they stay loaded until flushed.
        defer { _ = Posix.run(toolsDir + "/tpm2_flushcontext", ["-t"] + connection) }
        try tool("tpm2_readpublic", ["-Q", "-c", context, "-f", "pem", "-o", publicKey] + connection)
        try tool("tpm2_sign", ["-Q", "-c", context, "-g", "sha256", "-f", "plain", "-o", signature, input] + connection)
        guard let pem = readTextFile(publicKey), pem.contains("BEGIN PUBLIC KEY"),
              let der = Posix.head(signature, count: 256), !der.isEmpty else {
            throw ControllerError("TPM: tpm2-tools left no public key or signature in \(workDir)")
        }
        return TPMProof(publicKey: pem, signature: Data(der).base64EncodedString())
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        guard let result = Posix.run(toolsDir + "/" + name, arguments) else { throw ControllerError("TPM: cannot run \(toolsDir)/\(name)") }
        guard result.status == 0 else { throw ControllerError("TPM: \(name) failed (exit \(result.status))") }
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ControllerError("TPM: cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw ControllerError("TPM: cannot write \(path)")
        }
    }
}
