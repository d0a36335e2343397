/// The node controller: identity, libvirt capacity and domains, the client of `provisioner serve`.
public enum NodeControllerKit {}
