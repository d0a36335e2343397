/// Renders rows as an aligned plain-text table for people (scripts use `--json`).
public enum TextTable {
    public static func render(header: [String], rows: [[String]]) -> String {
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
}
