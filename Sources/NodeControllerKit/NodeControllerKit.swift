/// The node controller that runs on every diskless node booted from the shared image.
///
/// - Identity: `BootParameters` (from `/proc/cmdline`), `ConfigFile`, `ControllerSettings`
///   and `IdentityResolver` find the boot MAC, interface, IPv4 address and hostname.
/// - Hypervisor: the `Hypervisor` seam; `LibvirtHypervisor` reports capacity and runs
///   instances through the libvirt C API (`HostProbe` covers the host when libvirt is down).
/// - Server client: `ServerClient` speaks the `ProvisionerAPI` contract over an
///   `HTTPTransport` (`SocketHTTPTransport`: plain HTTP over a socket, so the static binary
///   needs no libcurl); `NodeController` runs enroll → heartbeat with jitter and backoff.
/// - Wiring: `ControllerOptions` and `NodeControllerApp` build and run all of it for the
///   `node-controller` executable and for tests.
public enum NodeControllerKit {
    /// Reported to the server as `controllerVersion`.
    public static let version = "0.1.0"
}
