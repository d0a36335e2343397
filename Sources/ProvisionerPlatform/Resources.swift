import Foundation

/// Finds what the provisioner ships beside its binary: templates, the image
/// customization (`rootfs/`), the API document (`api/`), the node-controller binary.
public enum Resources {
    /// The running binary: /proc/self/exe, because argv[0] is only the bare
    /// name when the shell found the binary on PATH (`provisioner apply`).
    public static var executablePath: String {
        // A binary replaced on disk while it runs reads "PATH (deleted)".
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map {
            $0.hasSuffix(" (deleted)") ? String($0.dropLast(" (deleted)".count)) : $0
        } ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    }

    /// `explicit`, then `$env`, then `<prefix>/share/provisioner/<name>` (an
    /// installed binary in `<prefix>/bin`), then `<name>` in a directory above
    /// the binary (a development build inside the source tree). A candidate
    /// counts only if `<candidate>/<marker>` exists.
    public static func locate(_ name: String, marker: String, env: String, explicit: String? = nil) -> String? {
        if let explicit { return explicit }
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty { return value }
        var dir = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
        var candidates = [dir.deletingLastPathComponent().appendingPathComponent("share/provisioner/\(name)").path]
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent(name).path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/" + marker) }
    }

    /// The `api/` folder: the OpenAPI document of serve's HTTP API.
    public static func api(explicit: String? = nil) -> String? {
        locate("api", marker: "openapi.yaml", env: "PROVISIONER_API", explicit: explicit)
    }

    /// The `rootfs/` customization tree.
    public static func rootfs(explicit: String? = nil) -> String? {
        locate("rootfs", marker: "hooks/customize.sh", env: "PROVISIONER_ROOTFS", explicit: explicit)
    }

    /// The node-controller binary to install into images: `explicit`,
    /// $PROVISIONER_NODE_CONTROLLER, `<prefix>/lib/provisioner/node-controller`,
    /// or the static build of the source tree (`.build-nc/release/node-controller`,
    /// made by `make node-controller`).
    public static func nodeController(explicit: String? = nil) -> String? {
        if let explicit { return explicit }
        if let value = ProcessInfo.processInfo.environment["PROVISIONER_NODE_CONTROLLER"], !value.isEmpty { return value }
        let bin = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
        var candidates = [bin.deletingLastPathComponent().appendingPathComponent("lib/provisioner/node-controller").path]
        var dir = bin
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent(".build-nc/release/node-controller").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
