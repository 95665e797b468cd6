import Foundation

/// Builds a one-dimensional PostgreSQL array in binary wire format (what `array_recv` reads).
///
/// The writer passes each column of a batch as one binary parameter and `unnest`s it on the server.
/// Binary skips the server's text parsing of every element and needs no quoting at all: a string
/// travels as its UTF-8 bytes. Layout, big-endian: ndim (1), has-nulls flag, element type OID,
/// element count, lower bound (1), then per element its byte length (-1 for NULL) and bytes.
struct PostgresBinaryArray {
    /// Element type OIDs from `pg_type`, fixed for built-in types.
    enum ElementType: UInt32 {
        case bytea = 17
        case int8 = 20
        case int4 = 23
        case text = 25
        case uuid = 2950
    }

    private let elementType: ElementType
    private var elements: [UInt8] = []
    private var count: Int32 = 0
    private var hasNulls = false

    init(_ elementType: ElementType, reservingCapacity capacity: Int = 64) {
        self.elementType = elementType
        elements.reserveCapacity(capacity)
    }

    /// The finished array, header first.
    func finished() -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(20 + elements.count)
        for word in [1, hasNulls ? 1 : 0, Int32(bitPattern: elementType.rawValue), count, 1] as [Int32] {
            Self.appendBigEndian(word, to: &result)
        }
        result.append(contentsOf: elements)
        return result
    }

    mutating func appendNull() {
        hasNulls = true
        count += 1
        Self.appendBigEndian(Int32(-1), to: &elements)
    }

    /// A `text` element. `text` cannot hold NUL (the server rejects the byte), so a NUL becomes U+FFFD.
    mutating func appendText(_ text: String?) {
        precondition(elementType == .text)
        guard var text else { return appendNull() }
        text.withUTF8 { utf8 in
            guard utf8.contains(0) else { return appendElement(utf8) }
            var replaced: [UInt8] = []
            replaced.reserveCapacity(utf8.count + 2)
            for byte in utf8 {
                if byte == 0 { replaced.append(contentsOf: [0xEF, 0xBF, 0xBD]) } else { replaced.append(byte) }
            }
            replaced.withUnsafeBufferPointer { appendElement($0) }
        }
    }

    mutating func appendInt4(_ value: Int32?) {
        precondition(elementType == .int4)
        appendFixedWidth(value)
    }

    mutating func appendInt8(_ value: Int64?) {
        precondition(elementType == .int8)
        appendFixedWidth(value)
    }

    mutating func appendUUID(_ id: UUID) {
        precondition(elementType == .uuid)
        withUnsafeBytes(of: id.uuid) { appendElement($0.bindMemory(to: UInt8.self)) }
    }

    mutating func appendBytea(_ value: [UInt8]?) {
        precondition(elementType == .bytea)
        guard let value else { return appendNull() }
        value.withUnsafeBufferPointer { appendElement($0) }
    }

    private mutating func appendFixedWidth<T: FixedWidthInteger>(_ value: T?) {
        guard let value else { return appendNull() }
        count += 1
        Self.appendBigEndian(Int32(MemoryLayout<T>.size), to: &elements)
        Self.appendBigEndian(value, to: &elements)
    }

    private mutating func appendElement(_ bytes: UnsafeBufferPointer<UInt8>) {
        count += 1
        Self.appendBigEndian(Int32(bytes.count), to: &elements)
        elements.append(contentsOf: bytes)
    }

    private static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to output: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { output.append(contentsOf: $0) }
    }
}
