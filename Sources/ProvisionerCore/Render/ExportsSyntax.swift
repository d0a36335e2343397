/// Checks an `/etc/exports` style file: each line `PATH CLIENT(OPTIONS)…`.
public enum ExportsSyntax {
    /// The first problem found, or nil when every line is well formed.
    public static func problem(in text: String) -> String? {
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0].hasPrefix("/") else { return "line \(i + 1): expected PATH CLIENT(OPTIONS)" }
            for client in words.dropFirst() {
                guard let open = client.firstIndex(of: "("), client.last == ")", open != client.startIndex else {
                    return "line \(i + 1): expected CLIENT(OPTIONS), got \(quoted(String(client)))"
                }
                let options = client[client.index(after: open)..<client.index(before: client.endIndex)].split(separator: ",")
                guard options.contains("ro") || options.contains("rw") else { return "line \(i + 1): no ro or rw option" }
            }
        }
        return nil
    }
}

extension Substring {
    func trimmingSpaces() -> String { String(self).trimmingSpaces() }
}
