import Foundation
import Testing
import ProvisionerCore
import TestSupport

/// The fixtures and goldens of these tests, in the source tree.
let testsDir = repoRoot + "/Tests/ProvisionerBootTests"

func fixtureConfig(_ name: String) throws -> SiteConfig {
    try SiteConfig(yaml: String(contentsOfFile: "\(testsDir)/Fixtures/\(name).yaml", encoding: .utf8))
}
