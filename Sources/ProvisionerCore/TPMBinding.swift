import Crypto
import Foundation
import ProvisionerAPI

/// A node bound to the key its TPM keeps: pinned at its first enrollment
/// that brings one (or accepted by the operator), proven at every
/// enrollment after, by a signature over the boot's single-use credential.
public enum TPMBinding {
    /// What an enrollment's TPM proof means for the node.
    public enum Decision: Equatable, Sendable {
        /// No key pinned and none offered: the node enrolls as any other.
        case unbound
        /// No key pinned: this one is pinned now.
        case pin(String)
        /// The pinned key proved itself.
        case proven
        /// Refused: the reason, and the key offered (kept for the operator to accept) if any.
        case refuse(String, offered: String?)
    }

    /// The fingerprint of a public key as `node tpm` shows it: `sha256:` and the SHA-256 of its DER.
    /// - Throws: `ValidationError` when `pem` is not an ECDSA P-256 public key.
    public static func fingerprint(publicKeyPEM pem: String) throws(ValidationError) -> String {
        fingerprint(of: try publicKey(pem))
    }

    /// The fingerprint of the proof's key when its signature over this enrollment holds.
    /// - Throws: `ValidationError` naming what does not hold.
    public static func verify(_ proof: TPMProof, mac: MACAddress, token: String) throws(ValidationError) -> String {
        let key = try publicKey(proof.publicKey)
        guard let der = Data(base64Encoded: proof.signature),
              let signature = try? P256.Signing.ECDSASignature(derRepresentation: der),
              key.isValidSignature(signature, for: TPMProof.message(mac: mac.description, token: token)) else {
            throw ValidationError(field: "tpm.signature", value: String(proof.signature.prefix(24)),
                                  reason: "not the key's signature over this enrollment")
        }
        return fingerprint(of: key)
    }

    static func publicKey(_ pem: String) throws(ValidationError) -> P256.Signing.PublicKey {
        guard let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else {
            throw ValidationError(field: "tpm.publicKey", value: String(pem.prefix(40)), reason: "expected an ECDSA P-256 public key, PEM")
        }
        return key
    }

    static func fingerprint(of key: P256.Signing.PublicKey) -> String {
        "sha256:" + lowercaseHex(Array(SHA256.hash(data: key.derRepresentation)))
    }

    /// What to do with an enrollment of `node` whose pinned key is `pinned`
    /// and whose proof (already verified) is of the key `offered`.
    public static func decide(node: Hostname, pinned: String?, offered: String?) -> Decision {
        switch (pinned, offered) {
        case (nil, nil): .unbound
        case (nil, let offered?): .pin(offered)
        case (let pinned?, let offered?) where pinned == offered: .proven
        case (let pinned?, nil):
            .refuse("\(node) is bound to TPM key \(pinned) and this enrollment proved none "
                    + "(`provisioner node tpm \(node) --clear` if the node lost its TPM)", offered: nil)
        case (let pinned?, let offered?):
            .refuse("\(node)'s TPM key changed: it is bound to \(pinned), this enrollment holds \(offered) "
                    + "(`provisioner node tpm \(node) --accept` if the change is yours)", offered: offered)
        }
    }
}

/// What the registry keeps of a node's TPM binding.
public struct TPMKeyRecord: Sendable, Equatable, Codable {
    public var fingerprint: String
    public var pinnedAt: String
    /// A different key an enrollment brought, refused until the operator accepts it.
    public var pending: String?
    public var pendingAt: String?

    public init(fingerprint: String, pinnedAt: String, pending: String? = nil, pendingAt: String? = nil) {
        self.fingerprint = fingerprint
        self.pinnedAt = pinnedAt
        self.pending = pending
        self.pendingAt = pendingAt
    }
}
