// ProvisionerCloud: the cloud the booted nodes join.
//
// `IncusClient` is the seam of the `incus` engine: Incus's REST API over a
// daemon's local socket (as root, trusted) or over HTTPS with the
// provisioning server's client certificate and the cluster's certificate
// pinned. It mints per-node join tokens, removes a member that is gone, reads
// members and their resources, and trusts a client with a trust token (a
// node's own daemon is joined by the node controller's `IncusJoiner`, which
// the static node controller carries without SwiftNIO). `PeerCertificate` reads a server's certificate
// without trusting it (`cloud attach` compares it with the trust token's
// fingerprint). The rules of who may join when are `CloudRules` in the core.
// The `libvirt` engine is the node controller's own instance layer, unchanged.
