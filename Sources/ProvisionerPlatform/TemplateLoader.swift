import Foundation
import ProvisionerCore

/// Finds and reads the `templates/` directory.
public enum TemplateLoader {
    /// The templates directory: `explicit`, $PROVISIONER_TEMPLATES,
    /// `<prefix>/share/provisioner/templates` beside the binary, or the source
    /// tree's `templates/` above the binary (a development build).
    public static func locate(explicit: String? = nil) -> String? {
        Resources.locate("templates", marker: TemplateName.dnsmasqConf.rawValue + ".mustache", env: "PROVISIONER_TEMPLATES", explicit: explicit)
    }

    /// Reads just the templates `names` from `dir` (a node change renders
    /// only the node templates: no walk of the whole directory).
    /// - Throws: `TemplateError` when one is missing or does not parse.
    public static func load(_ dir: String, only names: [TemplateName]) throws -> Templates {
        var texts: [String: String] = [:]
        for name in names {
            guard let data = FileSystem.read(dir + "/" + name.rawValue + ".mustache") else {
                throw TemplateError(template: name.rawValue, message: "missing from \(dir)")
            }
            texts[name.rawValue] = String(decoding: data, as: UTF8.self)
        }
        return try Templates(texts: texts)
    }

    /// Reads every template the renderer uses from `dir`.
    /// - Throws: `SystemError` when the directory cannot be read; `TemplateError` when one is missing or does not parse.
    public static func load(_ dir: String) throws -> Templates {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw SystemError("reading templates: no directory \(dir)")
        }
        return try load(dir, only: TemplateName.allCases)
    }
}

/// Finds what the provisioner ships beside its binary: templates, the image
/// customization (`rootfs/`), the node-controller binary.
public enum Resources {
    /// `explicit`, then `$env`, then `<prefix>/share/provisioner/<name>` (an
    /// installed binary in `<prefix>/bin`), then `<name>` in a directory above
    /// the binary (a development build inside the source tree). A candidate
    /// counts only if `<candidate>/<marker>` exists.
    public static func locate(_ name: String, marker: String, env: String, explicit: String? = nil) -> String? {
        if let explicit { return explicit }
        if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty { return value }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [dir.deletingLastPathComponent().appendingPathComponent("share/provisioner/\(name)").path]
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent(name).path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/" + marker) }
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
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [bin.deletingLastPathComponent().appendingPathComponent("lib/provisioner/node-controller").path]
        var dir = bin
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent(".build-nc/release/node-controller").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
