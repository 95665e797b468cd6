/// JSON string literals for the JSON text Tandem writes by hand (event details): no
/// JSONSerialization round trip, and safe for `jsonb` (NUL becomes U+FFFD).
public enum JSONLiteral {
    /// `text` as a JSON string literal, quotes, backslashes and control characters escaped.
    public static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{0}": output += "\u{FFFD}"  // jsonb cannot hold \u0000
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
