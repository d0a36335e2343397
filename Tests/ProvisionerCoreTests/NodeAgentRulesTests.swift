import ProvisionerAPI
import ProvisionerCore
import Testing

/// Who may enroll and send heartbeats, as tables: each row a request and the
/// answer it must get.
struct NodeAgentRulesTests {
    static let secret: [UInt8] = Array(repeating: 7, count: 32)
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

    @Test func enrollmentNeedsTheNodesOwnTokenFromItsOwnAddress() {
        let good = NodeToken.make(secret: Self.secret, mac: Self.mac)
        let othersToken = NodeToken.make(secret: Self.secret, mac: Self.other)
        let otherSecret = NodeToken.make(secret: Array(repeating: 8, count: 32), mac: Self.mac)
        // node found, token, client address, source checked → refusal kind (nil: admitted)
        let rows: [(Node?, String, IPv4Address?, Bool, NodeAgentRules.Refusal.Kind?, String)] = [
            (Self.node, good, Self.nodeIP, true, nil, "the node itself"),
            (Self.node, good, Self.elsewhere, false, nil, "proxy mode: any address"),
            (Self.node, good, nil, false, nil, "proxy mode: no address known"),
            (nil, good, Self.nodeIP, true, .forbidden, "an unregistered MAC"),
            (Self.node, othersToken, Self.nodeIP, true, .forbidden, "another node's token"),
            (Self.node, otherSecret, Self.nodeIP, true, .forbidden, "a token of another site's secret"),
            (Self.node, "", Self.nodeIP, true, .forbidden, "no token"),
            (Self.node, good, Self.elsewhere, true, .forbidden, "the right token from another address"),
            (Self.node, good, nil, true, .forbidden, "no client address while the source is checked"),
        ]
        for (found, token, client, checks, refused, why) in rows {
            do {
                let admitted = try NodeAgentRules.admitEnrollment(node: found, mac: Self.mac, token: token, secret: Self.secret,
                                                                  clientIP: client, checksSourceIP: checks)
                #expect(refused == nil, "\(why): admitted, expected \(String(describing: refused))")
                #expect(admitted == Self.node, "\(why)")
            } catch {
                #expect(error.kind == refused, "\(why): \(error.reason)")
            }
        }
    }

    /// The token of a node whose boot files carry none (pxelinux, GRUB over TFTP).
    @Test func aTokenGoesOnlyToTheNodesAddressWhileItIsNotUp() {
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
            (Self.node, Self.nodeIP, false, nil, .forbidden, "proxy mode: the token is in the boot files"),
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
