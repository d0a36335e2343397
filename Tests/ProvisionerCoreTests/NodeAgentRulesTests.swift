import Crypto
import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing

/// Who may enroll and send heartbeats, as tables: each row a request and the
/// answer it must get.
struct NodeAgentRulesTests {
    static let mac = try! MACAddress(parsing: "52:54:00:00:00:01")
    static let other = try! MACAddress(parsing: "52:54:00:00:00:02")
    static let nodeIP = try! IPv4Address(parsing: "10.0.0.11")
    static let elsewhere = try! IPv4Address(parsing: "10.0.0.99")
    static let node = Node(hostname: try! Hostname(parsing: "n1"), mac: mac, ip: nodeIP, profile: try! ProfileName(parsing: "default"),
                           state: .registered, createdAt: "t", updatedAt: "t")

    @Test func enrollingMACMustBeOne() throws {
        #expect(try NodeAgentRules.enrollingMAC("52-54-00-00-00-01") == Self.mac)
        for bad in ["", "52:54:00:00:00", "zz:54:00:00:00:01", "52:54:00:00:00:01\nx"] {
            #expect(throws: NodeAgentRules.Refusal(.badRequest, "invalid MAC address \(quoted(bad))")) { try NodeAgentRules.enrollingMAC(bad) }
        }
    }

    /// A boot credential as serve minted it for the node (used: at and from where).
    static func minted(_ value: String, for mac: MACAddress = mac, used: Bool = false, givenTo: String? = "10.0.0.11") -> BootCredentialRecord {
        BootCredentialRecord(mac: mac, digest: BootCredential.digest(value), givenTo: givenTo, mintedAt: "2026-12-07T10:00:00.000Z",
                             usedAt: used ? "2026-12-07T10:01:00.000Z" : nil, usedFrom: used ? "10.0.0.11" : nil)
    }

    @Test func enrollmentNeedsTheBootsUnusedCredentialFromTheNodesAddressWhileItIsDown() {
        let good = BootCredential.make()
        let other = BootCredential.make()
        let life = BootCredential.lifetime
        // node, presented, minted, seconds since minted, client, source checked, seconds since heartbeat → refusal kind (nil: admitted)
        let rows: [(Node?, String, BootCredentialRecord?, Double?, IPv4Address?, Bool, Double?, NodeAgentRules.Refusal.Kind?, String)] = [
            (Self.node, good, Self.minted(good), 40, Self.nodeIP, true, nil, nil, "the node itself, first boot"),
            (Self.node, good, Self.minted(good), 40, Self.nodeIP, true, 60, nil, "a reboot: its heartbeats stopped a minute ago"),
            (Self.node, good, Self.minted(good), life, Self.nodeIP, true, nil, nil, "the last second of its life"),
            (Self.node, good, Self.minted(good), 40, Self.nodeIP, false, nil, nil, "proxy mode: from the address it was given to"),
            (Self.node, good, Self.minted(good, givenTo: nil), 40, Self.elsewhere, false, nil, nil, "proxy mode: given to an unknown address"),
            (Self.node, good, Self.minted(good), 40, Self.elsewhere, false, nil, .forbidden, "proxy mode: from another address than it was given to"),
            (Self.node, good, Self.minted(good), 40, nil, false, nil, .forbidden, "proxy mode: no client address"),
            (nil, good, Self.minted(good), 40, Self.nodeIP, true, nil, .forbidden, "an unregistered MAC"),
            (Self.node, "", Self.minted(good), 40, Self.nodeIP, true, nil, .forbidden, "no credential"),
            (Self.node, good, nil, nil, Self.nodeIP, true, nil, .forbidden, "none minted for the node"),
            (Self.node, other, Self.minted(good), 40, Self.nodeIP, true, nil, .forbidden, "an older or made-up credential"),
            (Self.node, good, Self.minted(good, for: Self.other), 40, Self.nodeIP, true, nil, .forbidden, "another node's credential"),
            (Self.node, good, Self.minted(good, used: true), 40, Self.nodeIP, true, nil, .conflict, "a second enrollment of one boot"),
            (Self.node, good, Self.minted(good, used: true), 40, Self.nodeIP, true, 3, .conflict, "a replay while the node is up"),
            (Self.node, good, Self.minted(good), life + 1, Self.nodeIP, true, nil, .forbidden, "expired"),
            (Self.node, good, Self.minted(good), nil, Self.nodeIP, true, nil, .forbidden, "minted at a time nobody can read"),
            (Self.node, good, Self.minted(good), 40, Self.elsewhere, true, nil, .forbidden, "the right credential from another address"),
            (Self.node, good, Self.minted(good), 40, nil, true, nil, .forbidden, "no client address while the source is checked"),
            (Self.node, good, Self.minted(good), 40, Self.nodeIP, true, 4, .conflict, "the node is up: its live credential stays"),
            (Self.node, good, Self.minted(good), 40, Self.nodeIP, false, 15, .conflict, "proxy mode, the last second of the alive window"),
        ]
        for (found, presented, minted, age, client, checks, since, refused, why) in rows {
            do {
                let admitted = try NodeAgentRules.admitEnrollment(
                    node: found, mac: Self.mac, credential: presented, minted: minted, secondsSinceMint: age,
                    clientIP: client, checksSourceIP: checks, secondsSinceHeartbeat: since, aliveWithin: 15)
                #expect(refused == nil, "\(why): admitted, expected \(String(describing: refused))")
                #expect(admitted == Self.node, "\(why)")
            } catch {
                #expect(error.kind == refused, "\(why): \(error.reason)")
            }
        }
    }

    @Test func bootCredentialsAreRandomAndKeptAsDigests() {
        let a = BootCredential.make(), b = BootCredential.make()
        #expect(a != b)
        #expect(a.count == 32 && a.allSatisfy(\.isHexDigit))
        let digest = BootCredential.digest(a)
        #expect(digest.count == 64 && digest != a)
        #expect(BootCredential.matches(a, digest: digest))
        #expect(!BootCredential.matches(b, digest: digest))
        #expect(!BootCredential.matches(String(a.dropLast()), digest: digest))
        #expect(!BootCredential.matches(a, digest: String(digest.dropLast())))
        #expect(!BootCredential.matches("", digest: digest))
    }

    /// A boot credential for a node whose boot files carry none (pxelinux, GRUB over TFTP).
    @Test func aCredentialGoesOnlyToTheNodesAddressWhileItIsNotUp() {
        // node found, client address, source checked, seconds since its last heartbeat → refusal kind
        let rows: [(Node?, IPv4Address?, Bool, Double?, NodeAgentRules.Refusal.Kind?, String)] = [
            (Self.node, Self.nodeIP, true, nil, nil, "a node that never sent a heartbeat"),
            (Self.node, Self.nodeIP, true, 90, nil, "a node rebooting: its heartbeats stopped"),
            (Self.node, Self.nodeIP, true, 15.5, nil, "just past the alive window"),
            (nil, Self.nodeIP, true, nil, .forbidden, "an unregistered MAC"),
            (Self.node, Self.elsewhere, true, nil, .forbidden, "another address"),
            (Self.node, nil, true, nil, .forbidden, "no client address"),
            (Self.node, Self.nodeIP, true, 4, .conflict, "the node is up: someone else on its address"),
            (Self.node, Self.nodeIP, true, 15, .conflict, "the last second of the alive window"),
            (Self.node, Self.nodeIP, true, -2, .conflict, "a heartbeat stamped a moment ahead"),
            (Self.node, Self.elsewhere, false, nil, nil, "proxy mode: serve does not know the node's address"),
            (Self.node, Self.elsewhere, false, 4, .conflict, "proxy mode: the node is up"),
        ]
        for (found, client, checks, since, refused, why) in rows {
            do {
                let admitted = try NodeAgentRules.admitTokenRequest(node: found, mac: Self.mac, clientIP: client, checksSourceIP: checks,
                                                                    secondsSinceHeartbeat: since, aliveWithin: 15)
                #expect(refused == nil, "\(why): admitted, expected \(String(describing: refused))")
                #expect(admitted == Self.node, "\(why)")
            } catch {
                #expect(error.kind == refused, "\(why): \(error.reason)")
            }
        }
    }

    @Test func heartbeatsNeedAKnownCredentialFromItsAddress() {
        let credential = NodeAgentRules.Credential(hostname: Self.node.hostname, ip: Self.nodeIP)
        let rows: [(NodeAgentRules.Credential?, IPv4Address?, Bool, NodeAgentRules.Refusal.Kind?, String)] = [
            (credential, Self.nodeIP, true, nil, "its own address"),
            (credential, Self.elsewhere, false, nil, "proxy mode"),
            (nil, Self.nodeIP, true, .unauthorized, "a credential serve never gave (or forgot on restart)"),
            (credential, Self.elsewhere, true, .forbidden, "a stolen credential used from elsewhere"),
        ]
        for (known, client, checks, refused, why) in rows {
            do {
                let admitted = try NodeAgentRules.admitHeartbeat(credential: known, clientIP: client, checksSourceIP: checks)
                #expect(refused == nil && admitted == credential, "\(why)")
            } catch {
                #expect(error.kind == refused, "\(why): \(error.reason)")
            }
        }
    }

    @Test func onlyALaterHeartbeatIsFresh() {
        let rows: [(Int, Int, Bool)] = [(0, -1, true), (1, 0, true), (7, 3, true), (3, 3, false), (2, 3, false), (-1, -1, false)]
        for (sequence, last, fresh) in rows {
            #expect(NodeAgentRules.isFresh(sequence, after: last) == fresh, "\(sequence) after \(last)")
        }
        #expect(NodeAgentRules.stale(4, of: Self.node.hostname).kind == .conflict)
    }
}

/// The TPM binding: what a proof means for a node, and proofs that do not hold.
@Suite struct TPMBindingTests {
    static let node = try! Hostname(parsing: "n1")

    @Test(arguments: [
        (nil, nil, TPMBinding.Decision.unbound),
        (nil, "sha256:aa", .pin("sha256:aa")),
        ("sha256:aa", "sha256:aa", .proven),
    ] as [(String?, String?, TPMBinding.Decision)])
    func accepted(pinned: String?, offered: String?, decision: TPMBinding.Decision) {
        #expect(TPMBinding.decide(node: Self.node, pinned: pinned, offered: offered) == decision)
    }

    @Test func aBoundNodeMustProveItsOwnKey() {
        guard case .refuse(let why, let offered) = TPMBinding.decide(node: Self.node, pinned: "sha256:aa", offered: nil) else {
            Issue.record("a bound node enrolled without a proof"); return
        }
        #expect(offered == nil && why.contains("bound to TPM key sha256:aa") && why.contains("--clear"), "\(why)")
        guard case .refuse(let changed, let kept) = TPMBinding.decide(node: Self.node, pinned: "sha256:aa", offered: "sha256:bb") else {
            Issue.record("a changed key was taken"); return
        }
        #expect(kept == "sha256:bb" && changed.contains("holds sha256:bb") && changed.contains("--accept"), "\(changed)")
    }

    @Test func aProofHoldsForItsEnrollmentOnly() throws {
        let key = P256.Signing.PrivateKey()
        let mac = try MACAddress(parsing: "02:00:00:00:00:01")
        func proof(mac: String = "02:00:00:00:00:01", token: String = "t1", signer: P256.Signing.PrivateKey = key) throws -> TPMProof {
            let signature = try signer.signature(for: TPMProof.message(mac: mac, token: token))
            return TPMProof(publicKey: key.publicKey.pemRepresentation, signature: signature.derRepresentation.base64EncodedString())
        }
        let fingerprint = try TPMBinding.verify(try proof(), mac: mac, token: "t1")
        #expect(fingerprint == (try TPMBinding.fingerprint(publicKeyPEM: key.publicKey.pemRepresentation)))
        #expect(fingerprint.hasPrefix("sha256:") && fingerprint.count == 71)
        // Another boot's credential, another MAC, another key's signature, garbage: refused, naming the field.
        for bad in [try proof(token: "t2"), try proof(mac: "02:00:00:00:00:02"), try proof(signer: P256.Signing.PrivateKey()),
                    TPMProof(publicKey: key.publicKey.pemRepresentation, signature: "not base64!")] {
            #expect(throws: ValidationError.self) { try TPMBinding.verify(bad, mac: mac, token: "t1") }
        }
        #expect { try TPMBinding.verify(TPMProof(publicKey: "garbage", signature: ""), mac: mac, token: "t1") } throws: {
            ($0 as? ValidationError)?.field == "tpm.publicKey"
        }
    }
}
