import Testing
import TestSupport

/// The tests that start real daemons and VMs (dnsmasq, rpcbind, nfs-ganesha,
/// mmdebstrap, QEMU). They share host resources that namespaces do not
/// separate — rpcbind's /run/rpcbind.sock, the two CPU cores — so they run
/// one at a time, while the unit tests run in parallel beside them.
@Suite(.serialized) struct SystemTests {}
