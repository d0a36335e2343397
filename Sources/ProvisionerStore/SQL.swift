// The little SQL the registry needs, the same over SQLite (GRDB) and
// PostgreSQL (postgres-nio): statements with `?` placeholders, values that
// are NULL, integers, reals, text or bytes, rows read by position. The
// registry's logic is written once against `SQLSession` (see `SQLRegistry`);
// each store gives it a session inside its transactions.
import Foundation

/// One value bound to a statement or read from a row.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob(Data)
}

/// What can be bound to a `?`.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Data: SQLBindable { public var sqlValue: SQLValue { .blob(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// What a column can be read as.
public protocol SQLReadable {
    /// Nil when the value cannot be this type.
    static func from(_ value: SQLValue) -> Self?
}

extension String: SQLReadable {
    public static func from(_ value: SQLValue) -> String? {
        switch value {
        case .text(let s): s
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .blob(let b): String(decoding: b, as: UTF8.self)
        case .null: nil
        }
    }
}

extension Int64: SQLReadable {
    public static func from(_ value: SQLValue) -> Int64? {
        switch value {
        case .int(let i): i
        case .double(let d): Int64(exactly: d)
        case .text(let s): Int64(s)
        case .blob, .null: nil
        }
    }
}

extension Int: SQLReadable {
    public static func from(_ value: SQLValue) -> Int? { Int64.from(value).map { Int(truncatingIfNeeded: $0) } }
}

extension Data: SQLReadable {
    public static func from(_ value: SQLValue) -> Data? {
        switch value {
        case .blob(let b): b
        case .text(let s): Data(s.utf8)
        default: nil
        }
    }
}

extension Optional: SQLReadable where Wrapped: SQLReadable {
    public static func from(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.from(value).map { .some($0) }
    }
}

/// A row, read by column position.
public struct SQLRow: Sendable {
    public var values: [SQLValue]
    public init(_ values: [SQLValue]) { self.values = values }

    /// Column `i` as `T`. The schema decides the types, so a mismatch is a
    /// programming error (as it is in GRDB).
    public subscript<T: SQLReadable>(_ i: Int) -> T {
        guard i < values.count, let v = T.from(values[i]) else {
            preconditionFailure("registry: column \(i) is \(i < values.count ? "\(values[i])" : "missing"), not \(T.self)")
        }
        return v
    }
}

/// Statements inside one transaction of a store.
public protocol SQLSession {
    /// Runs a statement that returns rows.
    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow]
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int
}

extension SQLSession {
    func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }
    /// The first row, if any.
    func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? { try rows(sql, arguments).first }
    /// The first column of the first row, if there is a row and it is not NULL.
    func value<T: SQLReadable>(_ type: T.Type = T.self, _ sql: String, _ arguments: [any SQLBindable] = []) throws -> T? {
        guard let row = try row(sql, arguments), let v = row.values.first else { return nil }
        if case .null = v { return nil }
        return T.from(v)
    }
    /// The first column of every row (NULLs left out).
    func values<T: SQLReadable>(_ type: T.Type = T.self, _ sql: String, _ arguments: [any SQLBindable] = []) throws -> [T] {
        try rows(sql, arguments).compactMap { row in row.values.first.flatMap { v in
            if case .null = v { return nil }
            return T.from(v)
        } }
    }
}
