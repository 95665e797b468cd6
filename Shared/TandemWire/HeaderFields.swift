import Foundation

/// Typed reads of header fields, each failing with `missingField` or `invalidField`.
struct HeaderFields {
    let values: [String: WireValue]

    init(_ values: [String: WireValue]) { self.values = values }

    func string(_ name: String) throws(WireError) -> String {
        guard let value = values[name], value != .null else { throw .missingField(name) }
        guard case .string(let text) = value else { throw .invalidField(name, "expected a string") }
        return text
    }

    func optionalString(_ name: String) throws(WireError) -> String? {
        guard let value = values[name], value != .null else { return nil }
        guard case .string(let text) = value else { throw .invalidField(name, "expected a string") }
        return text
    }

    func integer<T: FixedWidthInteger>(_ name: String, as type: T.Type = T.self) throws(WireError) -> T {
        guard let value = values[name], value != .null else { throw .missingField(name) }
        return try convert(value, name)
    }

    func optionalInteger<T: FixedWidthInteger>(_ name: String, as type: T.Type = T.self) throws(WireError) -> T? {
        guard let value = values[name], value != .null else { return nil }
        return try convert(value, name)
    }

    func bool(_ name: String, default fallback: Bool) throws(WireError) -> Bool {
        guard let value = values[name], value != .null else { return fallback }
        guard case .bool(let flag) = value else { throw .invalidField(name, "expected a boolean") }
        return flag
    }

    func jobId(_ name: String = "job") throws(WireError) -> UUID {
        guard let id = UUID(uuidString: try string(name)) else { throw .invalidField(name, "expected a UUID") }
        return id
    }

    private func convert<T: FixedWidthInteger>(_ value: WireValue, _ name: String) throws(WireError) -> T {
        switch value {
        case .int(let number):
            guard let converted = T(exactly: number) else { throw .invalidField(name, "\(number) is out of range") }
            return converted
        case .uint(let number):
            guard let converted = T(exactly: number) else { throw .invalidField(name, "\(number) is out of range") }
            return converted
        default:
            throw .invalidField(name, "expected an integer")
        }
    }
}

extension Dictionary where Key == String, Value == WireValue {
    /// Sets `key` only when `value` is present, so absent optionals stay absent on the wire.
    mutating func set(_ key: String, _ value: String?) { if let value { self[key] = .string(value) } }
    mutating func set<T: BinaryInteger>(_ key: String, _ value: T?) { if let value { self[key] = .int(Int64(value)) } }
}
