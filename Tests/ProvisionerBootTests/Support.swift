import Foundation
import Testing
import ProvisionerCore
import TestSupport

/// The fixtures and goldens of these tests, in the source tree.
let testsDir = repoRoot + "/Tests/ProvisionerBootTests"

/// The site CA fingerprint the fixtures' boot files give nodes (a site reads its own from `<home>/tls/ca.pem`).
let fixtureSiteCA = "sha256:" + String(repeating: "5a17e", count: 12) + "ca0c"

func fixtureConfig(_ name: String) throws -> SiteConfig {
    var config = try SiteConfig(yaml: String(contentsOfFile: "\(testsDir)/Fixtures/\(name).yaml", encoding: .utf8))
    config.siteCA = fixtureSiteCA
    return config
}
