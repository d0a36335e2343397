// ProvisionerBoot: the boot daemons and the apply pipeline.
//
// `BootDaemon` is the seam of each daemon a node's boot goes through: dnsmasq
// (DHCP and TFTP), nfs-ganesha or the kernel NFS server, with rpcbind. `Applier`
// turns what the core rendered into files on disk: plan (diff against disk),
// validate (`dnsmasq --test`, `exportfs`), write only what changed atomically,
// and reload only the daemons that read a changed file. `ApplyManifest` records
// what was applied so a node change touches only that node's files.
