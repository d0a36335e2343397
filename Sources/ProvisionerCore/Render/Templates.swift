import Mustache

/// The parsed templates, by name (path under `templates/` without `.mustache`).
public struct Templates: Sendable {
    let parsed: [String: MustacheTemplate]
    /// The template texts as read, by name (what a render's output depends on).
    public let texts: [String: String]

    /// Parses every template text.
    /// - Throws: `TemplateError` naming the template that does not parse.
    public init(texts: [String: String]) throws {
        var parsed: [String: MustacheTemplate] = [:]
        for (name, text) in texts {
            do {
                parsed[name] = try MustacheTemplate(string: text)
            } catch {
                throw TemplateError(template: name, message: "does not parse: \(error)")
            }
        }
        self.parsed = parsed
        self.texts = texts
    }

    /// The names every renderer needs, so a missing template fails before any rendering.
    public static let required: [String] = TemplateName.allCases.map(\.rawValue)

    /// Renders one template with a flat context.
    /// - Throws: `TemplateError` when the template is missing or uses a variable
    ///   the context lacks (a missing variable never renders as empty text).
    func render(_ name: TemplateName, _ context: [String: Any], over parent: [String: Any] = [:]) throws -> String {
        guard let template = parsed[name.rawValue] else {
            throw TemplateError(template: name.rawValue, message: "not found in the templates directory")
        }
        let root = StrictContext(context, over: parent)
        let text = template.render(root)
        if let missing = root.missing.first {
            throw TemplateError(template: name.rawValue, message: "no variable \(quoted(missing)) in its context")
        }
        return text
    }
}

/// A text value of a render context. Mustache takes a plain String through
/// its fallback (three failed casts, then `String(describing:)`) on every
/// variable; a custom renderable is taken at the second cast. Same output.
struct RenderText: MustacheCustomRenderable, Sendable {
    let renderText: String
    var isNull: Bool { false }
    init(_ text: String) { renderText = text }
}

/// The outermost context of a render: a name that no inner context has and
/// this one lacks too is recorded as missing, instead of rendering as "".
///
/// Two layers: a node's own values, looked up first, over the site's (so the
/// site's values are shared by every node, not copied into each one's context).
final class StrictContext: MustacheParent, @unchecked Sendable {
    let values: [String: Any]
    let parent: [String: Any]
    private(set) var missing: [String] = []

    init(_ values: [String: Any], over parent: [String: Any] = [:]) {
        self.values = values
        self.parent = parent
    }

    func child(named name: String) -> Any? {
        if let v = values[name] ?? parent[name] { return v }
        if name != "." { missing.append(name) }
        return nil
    }
}

/// The templates the renderer uses; the raw value is the path under `templates/`.
public enum TemplateName: String, CaseIterable, Sendable {
    case dnsmasqConf = "etc/dnsmasq.d/provisioner.conf"
    case dhcpHost = "var/lib/provisioner/dhcp-hosts/NODE"
    case pxelinuxNode = "srv/tftp/pxelinux.cfg/01-MAC"
    case pxelinuxDefault = "srv/tftp/pxelinux.cfg/default"
    case grubNode = "srv/tftp/grub/grub.cfg-01-MAC"
    case grubDefault = "srv/tftp/grub/grub.cfg"
    case ipxeChain = "srv/provisioner/http/boot.ipxe"
    case ipxeNode = "srv/provisioner/http/boot/MAC.ipxe"
    case ipxeDefault = "srv/provisioner/http/boot/default.ipxe"
    case kernelExports = "etc/exports.d/provisioner.exports"
    case ganeshaConf = "etc/ganesha/provisioner.conf"
    case imageInitramfs = "image/etc/initramfs-tools/conf.d/provisioner"
    case imageFstab = "image/etc/fstab"
    case imageInterfaces = "image/etc/network/interfaces"
}
