import Foundation
import Testing
import TestSupport
@testable import ProvisionerStore

/// The stores every registry test runs against.
enum Store: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// A new, empty registry of this kind; `opener` opens it again (another connection).
    func make(_ dir: String) throws -> (registry: any SQLRegistry, opener: @Sendable () throws -> any SQLRegistry) {
        switch self {
        case .sqlite:
            let path = dir + "/\(UUID().uuidString).sqlite"
            return (try SQLiteRegistry(path: path), { try SQLiteRegistry(path: path) })
        case .postgres:
            let url = try PostgresTestServer.shared.get().database()
            return (try PostgresRegistry(url: url), { try PostgresRegistry(url: url) })
        }
    }

    func open(_ dir: String) throws -> any SQLRegistry { try make(dir).registry }
}
