/// Checks and quotes SQL identifiers the store splices into statements (the schema name).
///
/// Only plain lower-case names are accepted, so a name means the same quoted or not and `psql`
/// users can type it without quotes.
public enum PostgresIdentifier {
    public static func isPlain(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        let isLetter = { (byte: UInt8) in (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_") }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || isDigit($0) }
    }

    /// `"name"`; callers pass names that passed `isPlain`.
    public static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
