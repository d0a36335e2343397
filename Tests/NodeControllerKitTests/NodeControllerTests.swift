import Testing
@testable import NodeControllerKit
