import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// The TPM seam against a real TPM 2.0 emulator (`swtpm`) through the real
/// tpm2-tools, the signature checked by the `openssl` tool.
@Suite(.serialized) struct TPMSignerTests {
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm") && FileManager.default.isExecutableFile(atPath: "/usr/bin/tpm2_sign")

    /// A fresh emulated TPM (its own state: its own seeds) on a loopback port.
    final class EmulatedTPM {
        let dir = NSTemporaryDirectory() + "swtpm-" + UUID().uuidString
        let port = unusedPort()
        var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

        init() throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // The swtpm TCTI speaks to the control channel on the next port.
            let control = port + 1
            let started = Posix.run("/usr/bin/swtpm", ["socket", "--tpm2", "--tpmstate", "dir=\(dir)",
                                                        "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1",
                                                        "--ctrl", "type=tcp,port=\(control),bindaddr=127.0.0.1",
                                                        "--flags", "not-need-init,startup-clear", "--daemon", "--pid", "file=\(dir)/pid"])
            guard started?.status == 0, waitUntilListening(port), waitUntilListening(control) else { throw ControllerError("swtpm did not start") }
        }

        deinit {
            // SIGKILL: the test runner blocks SIGTERM, and its children inherit that.
            if let pid = (try? String(contentsOfFile: dir + "/pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func verifies(_ proof: TPMProof, _ message: [UInt8], in dir: String) throws -> Bool {
        try proof.publicKey.write(toFile: dir + "/pub.pem", atomically: true, encoding: .utf8)
        try Data(message).write(to: URL(fileURLWithPath: dir + "/msg"))
        try #require(Data(base64Encoded: proof.signature)).write(to: URL(fileURLWithPath: dir + "/sig"))
        return Posix.run("/usr/bin/openssl", ["dgst", "-sha256", "-verify", dir + "/pub.pem", "-signature", dir + "/sig", dir + "/msg"])?.status == 0
    }

    @Test(.enabled(if: available, "needs swtpm and tpm2-tools: `make test` installs them"))
    func theTPMsKeySignsAndIsTheSameEveryTime() throws {
        let tpm = try EmulatedTPM()
        let work = tpm.dir + "/work"
        let signer = TPM2ToolsSigner(tcti: tpm.tcti, workDir: work)
        let message = TPMProof.message(mac: "02:00:00:00:00:01", token: "t1")
        let first = try signer.prove(message)
        #expect(first.publicKey.contains("BEGIN PUBLIC KEY"))
        #expect(try verifies(first, message, in: tpm.dir), "openssl does not verify the TPM's signature")
        #expect(try !verifies(first, TPMProof.message(mac: "02:00:00:00:00:01", token: "t2"), in: tpm.dir), "a signature over another message verified")
        // The next boot (another enrollment): the same key, made again from the TPM's seed; nothing of it left on disk.
        let second = try signer.prove(TPMProof.message(mac: "02:00:00:00:00:01", token: "t2"))
        #expect(second.publicKey == first.publicKey && second.signature != first.signature)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: work)) == [], "the key's context or the message stayed behind")
        // Another TPM: another key.
        let other = try EmulatedTPM()
        #expect(try TPM2ToolsSigner(tcti: other.tcti, workDir: other.dir + "/work").prove(message).publicKey != first.publicKey)
    }

    @Test(.enabled(if: available, "needs tpm2-tools"))
    func noTPMIsAnError() throws {
        let signer = TPM2ToolsSigner(tcti: "swtpm:host=127.0.0.1,port=\(unusedPort())", workDir: NSTemporaryDirectory() + "tpm-none-" + UUID().uuidString)
        #expect { try signer.prove([1]) } throws: { "\($0)".contains("tpm2_createprimary failed") }
    }
}
