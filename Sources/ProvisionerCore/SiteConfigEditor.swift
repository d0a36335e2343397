/// Changes one value of a site config's YAML text and keeps everything else
/// (comments, order, spacing) byte for byte: the one writer of config edits
/// made by the program (the lab's cache path, its discovery mode). A value
/// the editor cannot place (a flow-style section) is an error, never a silent
/// no-op, and the result must read back as a valid config.
public enum SiteConfigEditor {
    /// The text with `keyPath` ("discovery.mode", "paths.cache", a top-level
    /// "interface", or "profiles.NAME.loader") set to `value`. A missing key is
    /// added to its section, a missing section at the end of its parent.
    /// - Throws: `ConfigSyntaxError` when the section is written in flow
    ///   style or the result is not a valid site config.
    public static func set(_ keyPath: String, to value: String, in text: String) throws -> String {
        try set(keyPath, yaml: yamlScalar(value), in: text)
    }

    /// The same with a list of strings (`kernel_args`), written in flow style.
    public static func set(_ keyPath: String, toList values: [String], in text: String) throws -> String {
        try set(keyPath, yaml: "[" + values.map(yamlScalar).joined(separator: ", ") + "]", in: text)
    }

    static func set(_ keyPath: String, yaml scalar: String, in text: String) throws -> String {
        let parts = keyPath.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigSyntaxError(message: "\(keyPath): only a top-level key, section.key or section.name.key can be edited")
        }
        // "\r\n" is one Character in Swift: split on the file's own line ending and keep it.
        let newline = text.contains("\r\n") ? "\r\n" : "\n"
        var lines = text.components(separatedBy: newline)
        // The lines of the section being searched, and the indent of its keys.
        var range = 0..<lines.count
        var indent = 0
        for (depth, part) in parts.enumerated() {
            let found = range.first { keyOf(lines[$0], indent: indent) == part }
            if depth == parts.count - 1 {
                if let i = found {
                    lines[i] = try replacingValue(lines[i], key: part, indent: indent, with: scalar)
                } else if depth == 0 {
                    appendBlock(&lines, ["\(part): \(scalar)"])
                } else {
                    lines.insert(String(repeating: " ", count: indent) + "\(part): \(scalar)", at: range.lowerBound)
                }
                break
            }
            guard let s = found else {
                // The rest of the path is new: a block at the end of its parent section.
                var block: [String] = []
                for (k, name) in parts[depth...].enumerated() {
                    let pad = String(repeating: " ", count: indent + 2 * k)
                    block.append(pad + name + (depth + k == parts.count - 1 ? ": \(scalar)" : ":"))
                }
                if depth == 0 {
                    appendBlock(&lines, block)
                } else {
                    var at = range.upperBound
                    while at > range.lowerBound, lines[at - 1].trimmingSpaces().isEmpty { at -= 1 }
                    lines.insert(contentsOf: block, at: at)
                }
                break
            }
            guard valueText(lines[s], key: part, indent: indent).isEmpty else {
                throw ConfigSyntaxError(message: "\(keyPath): \(parts[...depth].joined(separator: ".")) is written on one line (flow style); edit it by hand")
            }
            var end = s + 1
            var childIndent: Int?
            while end < range.upperBound {
                let line = lines[end]
                let lead = line.prefix { $0 == " " }.count
                let body = line.dropFirst(lead)
                if body.isEmpty || body.hasPrefix("#") { end += 1; continue }
                if lead <= indent { break }
                if childIndent == nil { childIndent = lead }
                end += 1
            }
            range = (s + 1)..<end
            indent = childIndent ?? indent + 2
        }
        let result = lines.joined(separator: newline)
        _ = try SiteConfig(yaml: result)
        return result
    }

    /// The key of a `key: value` line at exactly `indent` spaces, if it is one.
    static func keyOf(_ line: String, indent: Int) -> String? {
        guard line.prefix(indent).allSatisfy({ $0 == " " }) else { return nil }
        let body = line.dropFirst(indent)
        guard let first = body.first, first != " ", first != "#", first != "-", let colon = body.firstIndex(of: ":") else { return nil }
        let after = body.index(after: colon)
        guard after == body.endIndex || body[after] == " " else { return nil }
        return String(body[..<colon])
    }

    /// What follows `key:` on the line, without a trailing comment.
    static func valueText(_ line: String, key: String, indent: Int) -> String {
        let rest = line.dropFirst(indent + key.count + 1)
        let (value, _) = splitComment(String(rest))
        return value.trimmingSpaces()
    }

    /// - Throws: `ConfigSyntaxError` for a value written over several lines (a `|` or `>` block), which one line cannot replace.
    static func replacingValue(_ line: String, key: String, indent: Int, with scalar: String) throws -> String {
        let old = valueText(line, key: key, indent: indent)
        if old.hasPrefix("|") || old.hasPrefix(">") {
            throw ConfigSyntaxError(message: "\(key): its value is a block over several lines; edit it by hand")
        }
        let rest = String(line.dropFirst(indent + key.count + 1))
        let (_, comment) = splitComment(rest)
        return String(repeating: " ", count: indent) + "\(key): \(scalar)" + (comment.isEmpty ? "" : "  " + comment)
    }

    /// Splits `value  # comment` at the first `#` after a space, outside quotes.
    static func splitComment(_ text: String) -> (String, String) {
        var quote: Character?
        var previous: Character = " "
        for i in text.indices {
            let c = text[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" && (previous == " " || previous == "\t") {
                return (String(text[..<i]), String(text[i...]))
            }
            previous = c
        }
        return (text, "")
    }

    static func appendBlock(_ lines: inout [String], _ block: [String]) {
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        lines += [""] + block + [""]
    }

    /// A plain scalar when it reads back as the same string, else double-quoted.
    static func yamlScalar(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { c in
            (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5a) || (c.value >= 0x61 && c.value <= 0x7a) || "/._-@+".unicodeScalars.contains(c)
        } && !["true", "false", "yes", "no", "on", "off", "null", "~"].contains(value.lowercased()) && value.first != "-"
        if plain { return value }
        var out = "\""
        for c in value.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 { out += "\\x" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
