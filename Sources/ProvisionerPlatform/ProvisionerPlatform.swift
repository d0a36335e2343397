// ProvisionerPlatform: the host the provisioner runs on.
//
// Files (read, atomic write through a temporary file and rename, modes),
// processes (run to completion, stream, spawn in the background), what ships
// beside the binary (`Resources`: templates/, rootfs/, api/, the node-controller
// binary, found in a development tree or under <prefix>/share/provisioner), the
// site's secret files (the API token), and `NFSProbe`, which reads an export through libnfs
// as a node would. Every other adapter reaches the system through here.
