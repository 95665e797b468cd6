import Foundation

/// Small helpers for the JSON text the protocol carries (params, results, query answers).
enum JSONText {
    /// Serializes a JSON-compatible value with sorted keys, so answers are stable.
    static func object(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `text` is a JSON object (what job parameters must be).
    static func isObject(_ text: String) -> Bool {
        guard let data = text.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data) else { return false }
        return value is [String: Any]
    }

    /// Parses JSON text into a value for embedding in an answer; invalid text stays a string.
    static func value(_ text: String?) -> Any {
        guard let text, let data = text.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return text ?? NSNull() }
        return value
    }
}
