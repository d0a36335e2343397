import Foundation
import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot
import ProvisionerImages
import ProvisionerPlatform
import ProvisionerSite

/// The lab's second boot server (`lab up --servers 2`): a machine of its own
/// on the lab's LAN, in a namespace of its own, with its own home, dnsmasq,
/// HTTP and NFS server, sharing the lab's PostgreSQL registry and, on this
/// one machine, its image store. The lab's own serve is the subnet's primary,
/// this one its secondary.
extension VirtualLab {
    /// At the top of the subnet: node addresses are handed out from the bottom
    /// (and the registry skips a boot server's address once it has reported).
    public static let secondServerIP = "10.77.0.254"
    static let secondServerInterface = "labbs2"

    /// Its home, inside the lab's.
    public var secondHome: String { home + "/bs2" }
    /// Its namespace: the lab's, with a suffix.
    public var secondNamespace: String { namespace + "b" }

    /// The lab's primary identity, set before its first apply when two boot servers run.
    func makePrimary(_ site: Site) throws {
        try site.setConfigValue("boot_server.name", to: "lab-bs1")
        try site.setConfigValue("boot_server.role", to: BootServerRole.primary.rawValue)
    }

    /// Starts the second boot server: network, home (its config follows the
    /// lab's profiles and discovery), the active generations published in its
    /// own roots, apply, serve. Its pid goes into `state`.
    /// - Throws: `ConflictError` when the lab's registry is not PostgreSQL; `SystemError`.
    func startSecondServer(primary config: SiteConfig, serveBinary: String, state: inout State, say: (String) -> Void) throws {
        guard let url = try site.registryURL() else {
            throw ConflictError("two boot servers share one PostgreSQL registry: start the lab with --registry postgres://…")
        }
        let ns = secondNamespace, interface = Self.secondServerInterface
        say("second boot server: namespace \(ns), \(Self.secondServerIP)/24 on the lab's LAN, registry \(PostgresLocation.redacted(url))")
        if !FileSystem.list("/run/netns").contains(ns) { try ip(["netns", "add", ns]) }
        state.secondNamespace = ns
        try save(state)
        try ip(["-n", ns, "link", "set", "lo", "up"])
        if (try? ProcessRunner.run(ipTool, ["-n", ns, "link", "show", interface]))?.status != 0 {
            try ip(["-n", namespace, "link", "add", interface + "p", "type", "veth", "peer", "name", interface, "netns", ns])
            try ip(["-n", namespace, "link", "set", interface + "p", "master", Self.bridge, "up"])
            try ip(["-n", ns, "addr", "add", "\(Self.secondServerIP)/24", "dev", interface])
        }
        try ip(["-n", ns, "link", "set", interface, "up"])

        let second = Site(home: secondHome)
        if !FileManager.default.fileExists(atPath: second.configPath) {
            try second.initialize(SiteSetup(interface: interface, serverIP: Self.secondServerIP, subnet: Self.subnet, dhcpRange: Self.dhcpRange,
                                            registry: url, serverName: "lab-bs2", role: BootServerRole.secondary.rawValue))
        }
        // One machine: the image store (and its build cache) is the lab's. Profiles and discovery as the lab's.
        try second.setConfigValue("paths.images", to: config.imagesDir)
        try second.setConfigValue("paths.cache", to: config.cacheDir)
        try second.setConfigValue("discovery.mode", to: config.discovery.rawValue)
        for p in config.profiles {
            try second.setConfigValue("profiles.\(p.name.value).image", to: p.image)
            try second.setConfigValue("profiles.\(p.name.value).loader", to: p.loader.rawValue)
            try second.setConfigValue("profiles.\(p.name.value).root", to: p.root.rawValue)
            try second.setConfigValue("profiles.\(p.name.value).kernel_args", toList: p.kernelArgs)
        }
        let secondConfig = try second.loadConfig()
        // Kernels, initrds and root images in its own TFTP and HTTP roots.
        for image in Set(secondConfig.profiles.map(\.image)) {
            let store = ImageStore(config: secondConfig, image: image)
            if let active = store.generations().active {
                try store.publish(active, from: store.generationDir(active))
            }
        }
        _ = try second.apply()

        // A mount namespace of its own with a private /run: its rpcbind and ganesha do not meet the lab's
        // (rpcbind's socket is /run/rpcbind.sock whatever the network namespace).
        let script = "mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/rpcbind /run/ganesha && exec \"$0\" serve --home \"$1\""
        let pid = try ProcessRunner.spawnLogged([ipTool, "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                                                 serveBinary, secondHome], log: dir + "/serve-bs2.log", newSession: true)
        state.secondServePID = pid
        try save(state)
        let healthz = "http://\(Self.secondServerIP):\(secondConfig.httpPort)/healthz"
        guard awaitServe(pid: pid, namespace: ns, url: healthz) else {
            throw SystemError("the second boot server did not start:\n" + Self.tail(dir + "/serve-bs2.log"))
        }
    }

    /// Stops the second boot server and removes its namespace; what was done.
    func stopSecondServer(_ state: State) -> [String] {
        var done: [String] = []
        if let pid = state.secondServePID, pid > 0, Self.stop(pid, grace: 20) { done.append("stopped the second boot server (pid \(pid)) and its daemons") }
        let ns = state.secondNamespace ?? secondNamespace
        guard FileSystem.list("/run/netns").contains(ns) else { return done }
        for pid in pids(inNamespace: ns) { Self.stop(pid, grace: 2) }
        _ = try? ProcessRunner.run(ipTool, ["netns", "del", ns])
        done.append("removed namespace \(ns)")
        return done
    }
}
