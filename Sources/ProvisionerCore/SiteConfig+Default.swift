/// The values `provisioner init` asks for; everything else has a default.
public struct SiteDefaults: Sendable {
    public var interface: String
    public var serverIP: String
    public var subnet: String
    public var dhcpRange: String
    public var mirror: String
    public var tftpRoot: String
    public var httpRoot: String
    public var imagesDir: String
    /// The state directory (registry, per-node DHCP host entries).
    public var home: String
    /// Prefix of the host paths (dnsmasq, exports, ganesha, run): "" for the
    /// real system, the home directory for a self-contained site (tests, labs).
    public var systemRoot: String
    /// This boot server's name and part of the subnet (nil: the machine's hostname; alone).
    public var bootServerName: String?
    public var bootServerRole: String?

    public init(interface: String, serverIP: String, subnet: String, dhcpRange: String, mirror: String, tftpRoot: String, httpRoot: String, imagesDir: String, home: String, systemRoot: String = "") {
        self.home = home
        self.systemRoot = systemRoot
        self.interface = interface
        self.serverIP = serverIP
        self.subnet = subnet
        self.dhcpRange = dhcpRange
        self.mirror = mirror
        self.tftpRoot = tftpRoot
        self.httpRoot = httpRoot
        self.imagesDir = imagesDir
    }
}

extension SiteConfig {
    /// A commented `provisioner.yaml` for `provisioner init`. Values are
    /// validated by parsing the text back, so what is written always loads.
    /// - Throws: `ValidationError` naming the first bad value.
    public static func defaultYAML(_ d: SiteDefaults) throws -> String {
        let text = """
        # provisioner.yaml: the site configuration of this provisioning server.
        # Written by `provisioner init`; edit it, then run `provisioner apply`.

        # The network interface on the node network, and this server's address on it.
        interface: \(d.interface)
        server_ip: \(d.serverIP)
        # The node network. Node addresses are taken from it, skipping the network,
        # broadcast and server addresses and the dynamic range below.
        subnet: \(d.subnet)

        dhcp:
          # authoritative: this server hands out addresses (static per node, and the
          #   dynamic range for machines not registered yet).
          # proxy: the site's own DHCP server hands out addresses; this server only
          #   adds boot information (proxyDHCP). The range is then optional.
          mode: authoritative
          range: \(d.dhcpRange)
          # A number with s, m, h, d or w, or infinite.
          lease_time: 12h
          # Router advertisements on the interface, so iPXE does not wait ~13 s
          # for IPv6 autoconfiguration.
          router_advertisements: true

        http:
          # Port of `provisioner serve` over plain HTTP: what is public (iPXE
          # scripts, kernels, initrds, root images).
          port: 8080
          # HTTPS on the node network: the node controllers' API, checked by
          # the nodes against the site CA (<home>/tls/ca.pem).
          api_port: 8443
          # HTTPS for the operator API (tokens, node changes, power), the
          # status page and /metrics: ADDRESS[:PORT], off the node network by
          # default (give a management address to reach it from elsewhere;
          # `node` serves it on api_port). `curl --cacert <home>/tls/ca.pem`.
          operator_listen: 127.0.0.1:8444

        paths:
          tftp_root: \(d.tftpRoot)
          http_root: \(d.httpRoot)
          images: \(d.imagesDir)
          # dnsmasq reads provisioner.conf from here, and one host entry per node
          # from hosts_dir (new files need no restart).
          dnsmasq_dir: \(d.systemRoot)/etc/dnsmasq.d
          hosts_dir: \(d.home)/dhcp-hosts
          # NFS exports of the node root: kernel server and nfs-ganesha.
          exports_dir: \(d.systemRoot)/etc/exports.d
          ganesha_config: \(d.systemRoot)/etc/ganesha/provisioner.conf
          run_dir: \(d.systemRoot)/run/provisioner
          # apt packages and built roots, so an unchanged image rebuilds without downloading.
          cache: \(d.home)/cache

        # The NFS server of the node roots: auto (the kernel's where it has nfsd,
        # else nfs-ganesha), kernel, ganesha or none.
        nfs:
          server: auto

        # A machine that PXE-boots with a MAC nobody registered:
        # manual: it waits in `provisioner node discovered` for `provisioner node accept`.
        # auto: it takes the first node added without a MAC (`node add 'spare[1-8]'`)
        #   and boots as that node at once.
        discovery:
          mode: manual

        # This boot server, when several share one registry (`init --registry`):
        # its name in `cluster status` (default: this machine's hostname), and its
        # part when two boot servers serve one subnet (primary hands out the lower
        # half of the dynamic range, secondary the upper half; both answer every
        # registered node, so either one boots it when the other is down).
        boot_server:
        \(d.bootServerName.map { "  name: \($0)" } ?? "  # name: bs1")
        \(d.bootServerRole.map { "  role: \($0)" } ?? "  # role: primary")

        # Where node images come from.
        debian:
          mirror: \(d.mirror)
          suite: bookworm
          architecture: amd64

        # Boot profiles: which image a node boots and its extra kernel arguments,
        # one argument per item. A node without --profile gets "default".
        # root: nfs (the default: the image's root over NFS, read-only) or ram (the
        # initramfs fetches it over HTTP into RAM: the node needs no server once it
        # is up, and holds the compressed image, ~300 MB, in its memory).
        profiles:
          default:
            image: default
            kernel_args: [console=tty0, "console=ttyS0,115200"]

        """
        _ = try SiteConfig(yaml: text)
        return text
    }
}
