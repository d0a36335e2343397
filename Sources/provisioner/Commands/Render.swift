import ArgumentParser
import Foundation
import ProvisionerCore

extension Provisioner {
    /// `provisioner render --out DIR`: the whole rendered tree, laid out as target paths.
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render every boot config into DIR, laid out as target paths (DIR/etc/dnsmasq.d/…)."
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Where to write the tree.", valueName: "DIR"))
        var out: String

        func run() throws {
            let result = try global.site.render(into: out)
            for w in result.warnings { FileHandle.standardError.write(Data("provisioner: warning: \(w)\n".utf8)) }
            emit("rendered \(result.files) files into \(out)\n")
        }
    }
}
