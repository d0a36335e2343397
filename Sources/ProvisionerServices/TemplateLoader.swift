import Foundation
import ProvisionerCore

/// Finds and reads the `templates/` directory.
public enum TemplateLoader {
    /// The templates directory: `explicit`, $PROVISIONER_TEMPLATES,
    /// `<prefix>/share/provisioner/templates` beside the binary, or the source
    /// tree's `templates/` above the binary (a development build).
    public static func locate(explicit: String? = nil) -> String? {
        let marker = "/" + TemplateName.dnsmasqConf.rawValue + ".mustache"
        var candidates: [String] = []
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["PROVISIONER_TEMPLATES"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(dir.deletingLastPathComponent().appendingPathComponent("share/provisioner/templates").path)
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("templates").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + marker) }
    }

    /// Reads every `*.mustache` under `dir`, named by relative path without the extension.
    /// - Throws: `SystemError` when the directory cannot be read; `TemplateError` when one does not parse.
    public static func load(_ dir: String) throws -> Templates {
        guard let e = FileManager.default.enumerator(atPath: dir) else { throw SystemError("reading templates: no directory \(dir)") }
        var texts: [String: String] = [:]
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".mustache"), let data = FileSystem.read(dir + "/" + rel) else { continue }
            texts[String(rel.dropLast(".mustache".count))] = String(decoding: data, as: UTF8.self)
        }
        for name in Templates.required where texts[name] == nil {
            throw TemplateError(template: name, message: "missing from \(dir)")
        }
        return try Templates(texts: texts)
    }
}
