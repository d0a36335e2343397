import FoundationEssentials

/// The node controller's config file (`/etc/provisioner/node-controller.conf`): `key=value` lines.
///
/// `#` starts a comment line; blank lines are ignored; spaces around key and value and one
/// pair of surrounding quotes are dropped. Unknown keys and malformed lines are warnings.
public struct ConfigFile: Sendable, Equatable {
    public static let defaultPath = "/etc/provisioner/node-controller.conf"
    public static let knownKeys: Set<String> = ["server", "token", "image", "mac", "interface", "libvirt_uri", "scratch", "console_log_dir"]

    public var values: [String: String] = [:]
    public var warnings: [String] = []

    public init(text: String, path: String = ConfigFile.defaultPath) {
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmedWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                warnings.append("\(path):\(n + 1): ignoring \"\(line)\" (expected key=value)")
                continue
            }
            let key = line[..<eq].trimmedWhitespace()
            var value = line[line.index(after: eq)...].trimmedWhitespace()
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                value = String(value.dropFirst().dropLast())
            }
            guard Self.knownKeys.contains(key) else {
                warnings.append("\(path):\(n + 1): unknown key \"\(key)\"")
                continue
            }
            values[key] = value
        }
    }

    /// The file's settings; an absent file is an empty config.
    public static func load(path: String) -> ConfigFile {
        guard let text = readTextFile(path) else { return ConfigFile(text: "", path: path) }
        return ConfigFile(text: text, path: path)
    }

    public subscript(key: String) -> String? {
        guard let v = values[key], !v.isEmpty else { return nil }
        return v
    }
}
