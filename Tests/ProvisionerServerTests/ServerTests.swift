import Testing
@testable import ProvisionerServer
