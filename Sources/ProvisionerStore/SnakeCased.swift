import Foundation
import ProvisionerAPI

/// The operator API's key strategy: the node controllers speak camelCase
/// (`memoryMiBMax`), the operator API, the CLI's `--json` and the registry's
/// records speak snake_case (`memory_mib_max`). A type both sides carry
/// (capacity, instance status and spec, boot timings) is written once, in
/// ProvisionerAPI, and crosses to the operator's casing through
/// `SnakeCased`, which re-keys it with these two functions; no type has a
/// hand-written twin.
public enum OperatorKeys {
    /// `memoryMiBMax` → `memory_mib_max`, `libvirtVersion` → `libvirt_version`.
    /// "MiB" is one word; a key already in snake_case is left as it is.
    public static func snake(_ key: String) -> String {
        var out = ""
        for ch in key.replacingOccurrences(of: "MiB", with: "Mib") {
            if ch.isUppercase {
                if !out.isEmpty { out.append("_") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// `memory_mib_max` → `memoryMiBMax`: the inverse of `snake`.
    public static func camel(_ key: String) -> String {
        let words = key.split(separator: "_", omittingEmptySubsequences: false)
        guard let first = words.first else { return key }
        let rest = words.dropFirst().map { word in
            word == "mib" ? "MiB" : word.prefix(1).uppercased() + word.dropFirst()
        }
        return ([String(first)] + rest).joined()
    }
}

/// A node-wire type as the operator side writes and reads it: the same
/// value, its keys (nested ones too) converted by `OperatorKeys`.
public struct SnakeCased<Value: Codable & Sendable>: Codable, Sendable {
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let tree = try JSONTree(from: decoder)
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .custom { path in RawKey(OperatorKeys.camel(path.last!.stringValue)) }
        value = try dec.decode(Value.self, from: JSONEncoder().encode(tree))
    }

    public func encode(to encoder: any Encoder) throws {
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .custom { path in RawKey(OperatorKeys.snake(path.last!.stringValue)) }
        try JSONDecoder().decode(JSONTree.self, from: enc.encode(value)).encode(to: encoder)
    }
}

private struct RawKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Any JSON value, so a re-keyed value can be written into (and read out of)
/// the encoder or decoder of the record that holds it.
private enum JSONTree: Codable {
    case null, bool(Bool), int(Int), double(Double), string(String)
    case array([JSONTree]), object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: RawKey.self) {
            var object: [String: JSONTree] = [:]
            for key in c.allKeys { object[key.stringValue] = try c.decode(JSONTree.self, forKey: key) }
            self = .object(object)
        } else if var c = try? decoder.unkeyedContainer() {
            var array: [JSONTree] = []
            while !c.isAtEnd { array.append(try c.decode(JSONTree.self)) }
            self = .array(array)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .object(let object):
            var c = encoder.container(keyedBy: RawKey.self)
            for (key, value) in object { try c.encode(value, forKey: RawKey(key)) }
        case .array(let array):
            var c = encoder.unkeyedContainer()
            for value in array { try c.encode(value) }
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .double(let d): var c = encoder.singleValueContainer(); try c.encode(d)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        }
    }
}
