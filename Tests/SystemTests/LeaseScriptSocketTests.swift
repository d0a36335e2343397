import Foundation
import ProvisionerCore
import ProvisionerPlatform
import Synchronization
import Testing
import TestSupport

extension SystemTests {
/// dnsmasq's lease script runs as nobody and hands each event to serve on a
/// socket: the real `provisioner dhcp-event` run as nobody gets through;
/// another local user can neither open the socket nor, with the file opened
/// to all, pass as nobody (serve checks the sender with SO_PEERCRED).
@Suite(.serialized) struct LeaseScriptSocketTests {
    static let setpriv = "/usr/bin/setpriv"

    final class Inbox: Sendable {
        let messages = Mutex<[Data]>([])
        let refused = Mutex<[uid_t]>([])
    }

    func asUser(_ uid: uid_t, _ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
        try runProcess(Self.setpriv, ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", CLI.binary] + args, env: env)
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv), "needs root and setpriv"))
    func onlyTheScriptUserAndRootCanHandServeAnEvent() throws {
        let dir = try makeTempDir("lease-socket")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let nobody = try #require(LocalEventSocket.uid(of: "nobody"))
        let path = dir + "/dhcp-event.sock"
        let socket = try LocalEventSocket(path: path, allowedUID: nobody)
        defer { socket.close() }
        let inbox = Inbox()
        socket.serve({ data in inbox.messages.withLock { $0.append(data) } }, refused: { uid in inbox.refused.withLock { $0.append(uid) } })
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_uid == nobody && st.st_mode & 0o777 == 0o600)

        // The lease script's own command, as nobody, with dnsmasq's environment.
        let sent = try asUser(nobody, ["dhcp-event", "--socket", path, "add", "52:54:00:00:00:01", "10.0.0.5", "n1"],
                              env: ["DNSMASQ_VENDOR_CLASS": "PXEClient:Arch:00000:UNDI:002001"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(waitFor(5) { inbox.messages.withLock { $0.count } == 1 })
        let message = try #require(inbox.messages.withLock { $0.first })
        let (event, mac, ip) = try DHCPLeaseEvent.parse([UInt8](message))
        #expect(event.action == "add" && mac.description == "52:54:00:00:00:01" && ip.description == "10.0.0.5")
        #expect(event.vendorClass == "PXEClient:Arch:00000:UNDI:002001")

        // Another user (daemon, uid 1): the socket file refuses it.
        let other = try asUser(1, ["dhcp-event", "--socket", path, "add", "52:54:00:00:00:02", "10.0.0.6"])
        #expect(other.status != 0 && other.stderr.contains("Permission denied"), "\(other.stderr)")

        // With the file opened to all, serve still refuses it by its credentials, unread.
        chmod(path, 0o666)
        _ = try asUser(1, ["dhcp-event", "--socket", path, "add", "52:54:00:00:00:03", "10.0.0.7"])
        #expect(waitFor(5) { inbox.refused.withLock { $0 } == [1] })
        Thread.sleep(forTimeInterval: 0.2)
        #expect(inbox.messages.withLock { $0.count } == 1)

        socket.close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
}
