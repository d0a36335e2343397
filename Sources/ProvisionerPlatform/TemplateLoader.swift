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
