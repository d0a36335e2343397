// ProvisionerLab: the virtual lab, a test and demo harness.
//
// `VirtualLab` runs diskless QEMU nodes on this machine: one network namespace
// with no uplink holding a bridge, the server's address, a tap per node,
// `provisioner serve` and the nodes, each behind an emulated BMC (ipmi_sim).
// `make demo`, `provisioner lab` and the system tests use it; nothing in the
// product depends on it.
