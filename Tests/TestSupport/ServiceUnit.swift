import Foundation

/// serve's systemd unit as shipped (`netboot/provisioner.service.in`): tests
/// run serve with the limits it sets, so a capability it lacks fails a test
/// here rather than a site's first boot.
public enum ServiceUnit {
    public static let path = repoRoot + "/netboot/provisioner.service.in"

    /// The values of `key=` lines in the [Service] section.
    public static func values(_ key: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// `setpriv` with the unit's capability bounding set and
    /// `NoNewPrivileges`: a root process run under it keeps those
    /// capabilities only, as systemd would leave it.
    public static func setprivArgv() throws -> [String] {
        let caps = try values("CapabilityBoundingSet").flatMap { $0.split(separator: " ") }
            .map { $0.lowercased().replacingOccurrences(of: "cap_", with: "") }
        precondition(!caps.isEmpty, "no CapabilityBoundingSet in \(path)")
        var argv = ["/usr/bin/setpriv", "--bounding-set=-all," + caps.map { "+" + $0 }.joined(separator: ",")]
        if try values("NoNewPrivileges") == ["yes"] { argv.append("--no-new-privs") }
        return argv
    }
}
