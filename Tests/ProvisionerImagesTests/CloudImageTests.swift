import Foundation
import ProvisionerCore
import Testing
import TestSupport
@testable import ProvisionerImages

/// A site whose nodes join an Incus cluster builds images with the cloud's
/// packages from the suite's backports, and only then; the base digest
/// follows, so a cached base root of the other kind is never reused.
struct CloudImageTests {
    @Test func anIncusSiteAddsBackportsAndTheCloudPackages() throws {
        let dir = try makeTempDir("cloud-image")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try tempSiteConfig(dir)
        let incus = try tempSiteConfig(dir, extra: "cloud:\n  engine: incus\n  endpoint: https://10.0.0.1:9443\n  fingerprint: \(String(repeating: "ab", count: 32))")
        func args(_ c: SiteConfig) -> [String] {
            MmdebstrapBuilder.arguments(root: dir + "/root", packages: ["systemd"], config: c, essentialHook: "true", aptCache: dir + "/cache")
        }
        let without = args(plain), with = args(incus)
        #expect(!without.joined(separator: " ").contains("backports"))
        #expect(with.last == "deb \(incus.mirror) \(incus.suite)-backports main", "the backports suite is an extra source: \(with)")
        let hook = try #require(with.first { $0.contains("incus-base") })
        #expect(hook == "--customize-hook=chroot \"$1\" apt-get install -y -q --no-install-recommends -t bookworm-backports incus-base lxcfs")
        // Installed before the package cache is synced out, so a rebuild downloads nothing.
        #expect(with.firstIndex(of: hook)! < with.firstIndex { $0.hasPrefix("--customize-hook=sync-out") }!)
        #expect(with.contains("--include=systemd"), "the site's package lists stay from the suite itself")

        let request = { (c: SiteConfig) in ImageBuildRequest(config: c, image: "default", rootfsDir: repoRoot + "/rootfs", siteFiles: [], nodeController: nil, sshKeys: nil, useCache: true, activate: true, now: "t") }
        #expect(try ImageBuilder.baseDigest(request(plain), packages: ["systemd"]) != ImageBuilder.baseDigest(request(incus), packages: ["systemd"]))
    }
}
