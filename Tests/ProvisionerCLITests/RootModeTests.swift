import Foundation
import Testing
import TestSupport

/// `profiles.NAME.root: ram`: the boot files name the generation's root image,
/// and a generation without one is refused before anything is written.
@Suite struct RootModeTests {
    @Test func applyRefusesARAMProfileWithoutItsRootImageThenNamesIt() throws {
        let home = try Home()
        defer { try? FileManager.default.removeItem(atPath: home.dir) }
        // An active generation built before root images were packed: no root.squashfs.
        try FileManager.default.createDirectory(atPath: home.dir + "/images/default/g1", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home.dir + "/images/default/current", withDestinationPath: "g1")
        let text = try String(contentsOfFile: home.config, encoding: .utf8)
        try text.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    root: ram\n")
            .write(toFile: home.config, atomically: true, encoding: .utf8)
        let add = try home.run(["node", "add", "n1", "--mac", "02:00:00:00:0a:01", "--no-apply"])
        try #require(add.status == 0, "\(add.stderr)")

        let before = try home.files()
        let refused = try home.run(["apply"])
        #expect(refused.status != 0, "\(refused.stdout)")
        #expect(refused.stderr.contains("profile default has root: ram") && refused.stderr.contains("generation g1")
                && refused.stderr.contains("provisioner image build"), "\(refused.stderr)")
        #expect(try home.files() == before, "a refused apply wrote files")

        // The image published beside the kernel: the node's iPXE script fetches it instead of mounting NFS.
        let published = home.dir + "/http/images/default/g1"
        try FileManager.default.createDirectory(atPath: published, withIntermediateDirectories: true)
        try Data("squashfs".utf8).write(to: URL(fileURLWithPath: published + "/root.squashfs"))
        let applied = try home.run(["apply"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let script = try String(contentsOfFile: home.dir + "/http/boot/02-00-00-00-0a-01.ipxe", encoding: .utf8)
        #expect(script.contains("boot=ram provisioner.root=http://") && script.contains("/images/default/g1/root.squashfs"), "\(script)")
        #expect(!script.contains("nfsroot="), "\(script)")
    }
}
