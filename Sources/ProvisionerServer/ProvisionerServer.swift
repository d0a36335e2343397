/// `provisioner serve`: HTTP (boot scripts, images, node API, status, metrics) and the supervisor of the boot daemons.
public enum ProvisionerServer {}
