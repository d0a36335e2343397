import Testing
@testable import ProvisionerCore

struct TextTableTests {
    @Test func columnsLineUpUnderTheirHeader() {
        let text = TextTable.render(header: ["NAME", "STATE"], rows: [["n1", "ready"], ["node-long", "lost"]])
        #expect(text == "NAME       STATE\nn1         ready\nnode-long  lost\n")
    }

    /// What a node reports (an image name, a reason, an instance's message)
    /// reaches the operator's terminal: its escapes must not.
    @Test(arguments: ["\u{1b}[2J\u{1b}]0;owned\u{07}", "a\rb", "tab\there", "del\u{7f}", "c1\u{9b}31m", "line\nbreak"])
    func controlCharactersInACellAreShownAsQuestionMarks(_ cell: String) {
        let text = TextTable.render(header: ["NODE", "MESSAGE"], rows: [["n1", cell]])
        let body = text.split(separator: "\n", omittingEmptySubsequences: false)[1]
        #expect(text.split(separator: "\n").count == 2, "one line per row: \(text.debugDescription)")
        #expect(!body.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }, "\(text.debugDescription)")
        #expect(body.hasSuffix(String(cell.unicodeScalars.map { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) ? "?" : Character($0) })))
    }

    @Test func printableTextIsKeptAsItIs() {
        #expect(TextTable.printable("ünïcode ✓ 10.0.0.1") == "ünïcode ✓ 10.0.0.1")
    }
}
