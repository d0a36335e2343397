import Foundation
import Testing

/// A /24 of its own for a test's network: `10.N.0.0/24`, N counted up per
/// test process from 90, so no two tests pick the same one by hand. (Each
/// test's network lives in namespaces of its own; distinct subnets keep the
/// logs of tests that run one after the other apart.)
public struct TestSubnet: Sendable {
    public let n: Int
    private static let counter = Counter()

    /// The next subnet not given to another test of this process.
    public static func next() -> TestSubnet { TestSubnet(n: 90 + counter.next() % 150) }

    /// `10.N.0.i`.
    public func host(_ i: Int) -> String { "10.\(n).0.\(i)" }
    /// The boot server's address, `10.N.0.1`.
    public var server: String { host(1) }
    public var cidr: String { "10.\(n).0.0/24" }
    /// The dynamic range serve's dnsmasq hands out: `.200`-`.220`.
    public var dhcpRange: String { "\(host(200))-\(host(220))" }
    /// `provisioner init`'s network flags for this subnet on `interface`.
    public func initArgs(interface: String) -> [String] {
        ["--interface", interface, "--server-ip", server, "--subnet", cidr, "--dhcp-range", dhcpRange]
    }

    final class Counter: @unchecked Sendable { // under lock
        private var value = 0
        private let lock = NSLock()
        func next() -> Int { lock.withLock { value += 1; return value - 1 } }
    }
}

/// serve in a network namespace, as the system tests need it: a
/// `TestNetwork` on a subnet of its own, a site initialized on it (`init`'s
/// own flags follow), and `provisioner serve` started there on demand, up
/// once `/healthz` answers. `close()` stops serve and removes the namespaces.
public final class ServedSite {
    public let subnet: TestSubnet
    public let net: TestNetwork
    public let home: Home
    public private(set) var serve: Background?

    /// serve's HTTP base URL, as a node reaches it.
    public var base: String { "http://\(subnet.server):8080" }
    /// serve's HTTPS listener on the node network (the node API); clients trust `<home>/tls/ca.pem`.
    public var secureBase: String { "https://\(subnet.server):8443" }
    /// serve's operator listener (operator API, status page, metrics), by default on
    /// loopback: reached from the server's namespace (`net.exec(net.server, …)`).
    public var operatorBase: String { "https://127.0.0.1:8444" }

    /// - Parameter siteIP: the host number of a second, site-side namespace bridged to the node network (a second boot server's), if any.
    public init(_ initArgs: [String] = [], siteHost: Int? = nil) throws {
        let subnet = TestSubnet.next()
        self.subnet = subnet
        net = try TestNetwork(serverIP: subnet.server, prefix: 24, siteIP: siteHost.map { subnet.host($0) })
        do {
            home = try Home(subnet.initArgs(interface: net.serverIf) + initArgs)
        } catch {
            net.close()
            throw error
        }
    }

    /// Starts `provisioner serve` in the server namespace with `args` after `--home`; waits up to `timeout` for `/healthz`.
    @discardableResult
    public func startServe(_ args: [String] = [], timeout: Double = 60) throws -> Background {
        let started = try Background(["/usr/sbin/ip", "netns", "exec", net.server, CLI.binary, "serve", "--home", home.dir] + args,
                                     log: home.dir + "/serve.log")
        serve = started
        try #require(waitFor(timeout) { (try? net.exec(net.server, "curl -sf -m 2 \(base)/healthz"))?.status == 0 },
                     "serve did not come up: \(started.output)")
        return started
    }

    /// Stops serve (SIGTERM) and returns its exit status, nil if it had to be killed.
    @discardableResult
    public func stopServe() -> Int32? {
        defer { serve = nil }
        return serve?.stop()
    }

    public func close() {
        _ = stopServe()
        net.close()
    }
}
