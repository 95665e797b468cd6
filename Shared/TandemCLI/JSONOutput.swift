import Foundation

/// Printing JSON values the router returns, as JSON or as aligned text tables.
enum JSONOutput {
    static func print(_ value: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    static func compact(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A text cell for a JSON value: strings bare, numbers without needless decimals, the rest compact.
    static func cell(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let text as String: return text
        case let number as NSNumber:
            // JSON booleans arrive as NSNumber of objCType "c".
            if String(cString: number.objCType) == "c" { return number.boolValue ? "yes" : "no" }
            let double = number.doubleValue
            return double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : String(format: "%.1f", double)
        case let other?: return compact(other)
        }
    }

    /// Prints rows as a table with the given columns (JSON keys) and headings.
    static func table(_ rows: [[String: Any]], columns: [(key: String, heading: String)]) {
        let cells = rows.map { row in columns.map { cell(row[$0.key]) } }
        let widths = columns.indices.map { index in
            max(columns[index].heading.count, cells.map { $0[index].count }.max() ?? 0)
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        Swift.print(line(columns.map { $0.heading.uppercased() }))
        for row in cells { Swift.print(line(row)) }
    }
}
