/// Checks that a header frame is one well-formed MessagePack value within the protocol's caps,
/// before msgpack-c decodes it.
///
/// msgpack-c allocates an array's or map's element storage as soon as it reads the declared count,
/// so a five-byte frame declaring 50 million elements would make it allocate gigabytes. This pass
/// reads only type bytes and lengths — it builds nothing — and refuses what msgpack-c must not see:
/// lengths beyond the remaining bytes, the reserved byte 0xc1, extension types, non-string map
/// keys, invalid UTF-8, nesting and element counts above the caps, and trailing bytes.
enum MessagePackValidator {
    static func validate(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = ProtocolConstants.maxHeaderDepth,
        maxElements: Int = ProtocolConstants.maxHeaderElements
    ) throws(WireError) {
        var offset = 0
        var elements = 0
        // Per open container: values still to read, and whether the next one is a map key.
        var remaining: [Int] = [1]
        var isMap: [Bool] = [false]
        var keyNext: [Bool] = [false]

        while let last = remaining.last {
            if last == 0 {
                remaining.removeLast(); isMap.removeLast(); keyNext.removeLast()
                continue
            }
            remaining[remaining.count - 1] -= 1
            let mustBeKey = isMap.last! && keyNext.last!
            if isMap.last! { keyNext[keyNext.count - 1].toggle() }

            elements += 1
            if elements > maxElements { throw .tooManyElements }
            guard offset < bytes.count else { throw .malformedHeader("truncated", offset: offset) }
            let start = offset
            let byte = bytes[offset]
            offset += 1

            func need(_ n: Int) throws(WireError) {
                if n > bytes.count - offset { throw .malformedHeader("declared length \(n) exceeds the \(bytes.count - offset) bytes left", offset: start) }
            }
            func length(_ width: Int) throws(WireError) -> Int {
                try need(width)
                var n = 0
                for i in 0..<width { n = n << 8 | Int(bytes[offset + i]) }
                offset += width
                return n
            }
            func skipString(_ n: Int) throws(WireError) {
                try need(n)
                let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
                if String(validating: slice, as: UTF8.self) == nil { throw .invalidUTF8(offset: start) }
                offset += n
            }
            func open(_ count: Int, map: Bool) throws(WireError) {
                // Every element takes at least one byte: a count above what is left is a lie.
                if count > (bytes.count - offset) / (map ? 2 : 1) {
                    throw .malformedHeader("declared count \(count) exceeds the bytes left", offset: start)
                }
                if remaining.count > maxDepth { throw .tooDeep }
                remaining.append(map ? count * 2 : count)
                isMap.append(map)
                keyNext.append(true)
            }

            if mustBeKey {
                switch byte {
                case 0xa0...0xbf: try skipString(Int(byte & 0x1f))
                case 0xd9: try skipString(try length(1))
                case 0xda: try skipString(try length(2))
                case 0xdb: try skipString(try length(4))
                default: throw .headerNotAMap
                }
                continue
            }
            switch byte {
            case 0x00...0x7f, 0xe0...0xff, 0xc0, 0xc2, 0xc3: break
            case 0x80...0x8f: try open(Int(byte & 0x0f), map: true)
            case 0x90...0x9f: try open(Int(byte & 0x0f), map: false)
            case 0xa0...0xbf: try skipString(Int(byte & 0x1f))
            case 0xc1: throw .malformedHeader("reserved byte 0xc1", offset: start)
            case 0xc4: let n = try length(1); try need(n); offset += n
            case 0xc5: let n = try length(2); try need(n); offset += n
            case 0xc6: let n = try length(4); try need(n); offset += n
            case 0xc7...0xc9, 0xd4...0xd8: throw .malformedHeader("extension types are not part of the protocol", offset: start)
            case 0xca: try need(4); offset += 4
            case 0xcb: try need(8); offset += 8
            case 0xcc, 0xd0: try need(1); offset += 1
            case 0xcd, 0xd1: try need(2); offset += 2
            case 0xce, 0xd2: try need(4); offset += 4
            case 0xcf, 0xd3: try need(8); offset += 8
            case 0xd9: try skipString(try length(1))
            case 0xda: try skipString(try length(2))
            case 0xdb: try skipString(try length(4))
            case 0xdc: try open(try length(2), map: false)
            case 0xdd: try open(try length(4), map: false)
            case 0xde: try open(try length(2), map: true)
            case 0xdf: try open(try length(4), map: true)
            default: throw .malformedHeader("unexpected byte 0x\(String(byte, radix: 16))", offset: start)
            }
        }
        if offset != bytes.count { throw .malformedHeader("\(bytes.count - offset) trailing bytes", offset: offset) }
    }
}
