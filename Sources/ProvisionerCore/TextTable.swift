/// Renders rows as an aligned plain-text table for people (scripts use `--json`).
public enum TextTable {
    /// Lines of columns, each as wide as its widest cell. Control characters
    /// (C0, DEL, C1: a terminal's escapes) in a cell are shown as `?`: cells
    /// hold what nodes report, and a node must not drive the operator's terminal.
    public static func render(header: [String], rows: [[String]]) -> String {
        let rows = rows.map { $0.map(printable) }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, cell) in cells.enumerated() {
                if i == cells.count - 1 {
                    out += cell
                } else {
                    out += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                }
            }
            return out
        }
        var out = line(header) + "\n"
        out.reserveCapacity(rows.count * (widths.reduce(0, +) + 2 * widths.count))
        for row in rows { out += line(row) + "\n" }
        return out
    }

    /// `text` with each control character replaced by `?`.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? "?" : $0 }))
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7f...0x9f).contains(s.value)
    }
}
