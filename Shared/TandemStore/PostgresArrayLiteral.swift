/// Builds a one-dimensional PostgreSQL array literal (`{"a","b\"c",NULL}`) as UTF-8 bytes.
///
/// The writer passes whole columns of a batch as one text parameter each and `unnest`s them on the
/// server, so a batch of thousands of rows is one statement. Every string element is double-quoted,
/// with `"` and `\` escaped by a backslash: that is the whole quoting rule of array input, and
/// quoted elements keep their spaces, braces, commas and the word NULL as data. A NUL byte cannot
/// travel in libpq's text protocol (and `text`/`jsonb` cannot hold one): `appendText` replaces it
/// with U+FFFD; jsonb values are checked by the writer before they get here.
struct PostgresArrayLiteral {
    private(set) var bytes: [UInt8]
    private var isEmpty = true

    init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// The finished literal, `{…}`.
    func finished() -> [UInt8] {
        var result = bytes
        result.append(UInt8(ascii: "}"))
        return result
    }

    mutating func appendNull() {
        separate()
        bytes.append(contentsOf: [UInt8(ascii: "N"), UInt8(ascii: "U"), UInt8(ascii: "L"), UInt8(ascii: "L")])
    }

    /// A quoted string element, or NULL.
    mutating func appendText(_ text: String?) {
        guard var text else { return appendNull() }
        separate()
        bytes.append(UInt8(ascii: "\""))
        text.withUTF8 { utf8 in
            // Fast path: most values (ids, kinds, plain JSON numbers) need no escaping at all.
            if !utf8.contains(where: Self.needsEscape) {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(byte)
                case 0:
                    bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD REPLACEMENT CHARACTER
                default:
                    bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// An unquoted integer element, or NULL.
    mutating func appendInteger<T: BinaryInteger>(_ value: T?) {
        guard let value else { return appendNull() }
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// An element that needs no quoting (a UUID, an enum label); the caller guarantees it.
    mutating func appendBare(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    /// A `bytea` element in hex format, quoted (the backslash of `\x` is escaped), or NULL.
    mutating func appendBytea(_ value: [UInt8]?) {
        guard let value else { return appendNull() }
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: "\\"))
        PostgresHex.appendBytea(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0
    }

    private mutating func separate() {
        if isEmpty { isEmpty = false } else { bytes.append(UInt8(ascii: ",")) }
    }
}
