// ProvisionerServer: `provisioner serve`.
//
// The HTTP server (Hummingbird) that every node and operator talks to: boot
// scripts and images, the node agent API (enrollment, heartbeats), the operator
// API (api/openapi.yaml), the status page and metrics. Beside it, the supervisor
// of the boot daemons (dnsmasq, rpcbind, nfs-ganesha) and, with several boot
// servers, the replica that follows the shared registry's change log.

/// `provisioner serve`: HTTP (boot scripts, images, node API, status, metrics) and the supervisor of the boot daemons.
public enum ProvisionerServer {}
