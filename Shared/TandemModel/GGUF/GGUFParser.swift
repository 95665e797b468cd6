/// Parses a GGUF v3 image held in memory; used by `GGUFFile` over its mapping.
enum GGUFParser {
    struct Parsed {
        var version: UInt32
        var alignment: Int
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [GGUFTensor]
    }

    /// A bounds-checked little-endian reader.
    struct Cursor {
        let buffer: UnsafeRawBufferPointer
        var offset = 0
        var remaining: Int { buffer.count - offset }

        mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
            let n = MemoryLayout<T>.size
            guard remaining >= n else { throw GGUFError.truncated(what: what(), offset: offset) }
            let v = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
            offset += n
            return T(littleEndian: v)
        }

        mutating func readString(_ what: @autoclosure () -> String) throws -> String {
            let length = try read(UInt64.self, what())
            guard length <= UInt64(GGUFFile.maxStringBytes) else {
                throw GGUFError.limitExceeded(what: "string length of \(what())", value: length)
            }
            let n = Int(length)
            guard remaining >= n else { throw GGUFError.truncated(what: what(), offset: offset) }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n]), as: UTF8.self)
            offset += n
            return s
        }
    }

    static func parse(_ buffer: UnsafeRawBufferPointer) throws -> Parsed {
        var c = Cursor(buffer: buffer)
        let magic = try c.read(UInt32.self, "magic")
        guard magic == GGUFFile.magic else { throw GGUFError.badMagic(magic) }
        let version = try c.read(UInt32.self, "version")
        guard version == GGUFFile.supportedVersion else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try c.read(UInt64.self, "tensor count")
        let kvCount = try c.read(UInt64.self, "metadata count")
        // Each metadata entry takes at least 12 bytes (key length + type), each tensor at least 24.
        guard kvCount <= UInt64(c.remaining / 12) else { throw GGUFError.limitExceeded(what: "metadata count", value: kvCount) }
        guard tensorCount <= UInt64(c.remaining / 24) else { throw GGUFError.limitExceeded(what: "tensor count", value: tensorCount) }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try c.readString("metadata key \(i)")
            let type = try c.read(UInt32.self, "type of \(key)")
            let value = try readValue(&c, type: type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
            keys.append(key)
        }

        var alignment = GGUFFile.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard let v = a.intValue, v > 0, v & (v - 1) == 0, v <= 1 << 16 else {
                throw GGUFError.badAlignment(UInt64(a.intValue ?? 0))
            }
            alignment = v
        }

        struct Info { var name: String; var type: GGMLType; var dims: [Int]; var offset: Int; var bytes: Int }
        var infos: [Info] = []
        infos.reserveCapacity(Int(tensorCount))
        var seen = Set<String>()
        for i in 0..<Int(tensorCount) {
            let name = try c.readString("tensor name \(i)")
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(name) }
            let nDims = try c.read(UInt32.self, "dimension count of \(name)")
            guard nDims >= 1, nDims <= UInt32(GGUFFile.maxDimensions) else {
                throw GGUFError.badTensor(name: name, reason: "\(nDims) dimensions")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<Int(nDims) {
                let d = try c.read(UInt64.self, "dimensions of \(name)")
                guard d >= 1, d <= UInt64(Int32.max) else { throw GGUFError.badTensor(name: name, reason: "dimension \(d)") }
                dims.append(Int(d))
                let (m, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, m <= 1 << 40 else { throw GGUFError.badTensor(name: name, reason: "too many elements") }
                elements = m
            }
            let rawType = try c.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else { throw GGUFError.unknownTensorType(rawType, tensor: name) }
            guard dims[0] % type.blockElements == 0 else {
                throw GGUFError.badTensor(name: name, reason: "row of \(dims[0]) is not a whole number of \(type) blocks")
            }
            let offset = try c.read(UInt64.self, "offset of \(name)")
            guard offset <= UInt64(buffer.count), Int(offset) % alignment == 0 else {
                throw GGUFError.badTensor(name: name, reason: "offset \(offset) is unaligned or past the end")
            }
            infos.append(Info(name: name, type: type, dims: dims, offset: Int(offset), bytes: elements / type.blockElements * type.blockBytes))
        }

        let dataStart = (c.offset + alignment - 1) / alignment * alignment
        // Tensors must lie inside the data section and must not overlap.
        let sorted = infos.sorted { $0.offset < $1.offset }
        var end = 0
        for info in sorted {
            guard info.offset >= end else { throw GGUFError.badTensor(name: info.name, reason: "overlaps the tensor before it") }
            end = info.offset + info.bytes
            guard dataStart + end <= buffer.count else {
                throw GGUFError.truncated(what: "data of tensor \(info.name)", offset: dataStart + info.offset)
            }
        }
        let base = buffer.baseAddress!
        let tensors = infos.map {
            GGUFTensor(name: $0.name, type: $0.type, dimensions: $0.dims, fileOffset: dataStart + $0.offset,
                       byteCount: $0.bytes, data: base + dataStart + $0.offset)
        }
        return Parsed(version: version, alignment: alignment, metadata: metadata, metadataKeys: keys, tensors: tensors)
    }

    static func readValue(_ c: inout Cursor, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try c.read(UInt8.self, key))
        case 1: return .int8(try c.read(Int8.self, key))
        case 2: return .uint16(try c.read(UInt16.self, key))
        case 3: return .int16(try c.read(Int16.self, key))
        case 4: return .uint32(try c.read(UInt32.self, key))
        case 5: return .int32(try c.read(Int32.self, key))
        case 6: return .float32(Float(bitPattern: try c.read(UInt32.self, key)))
        case 7:
            let b = try c.read(UInt8.self, key)
            guard b <= 1 else { throw GGUFError.wrongKeyType(key) }
            return .bool(b == 1)
        case 8: return .string(try c.readString(key))
        case 9:
            guard depth < GGUFFile.maxArrayNesting else { throw GGUFError.limitExceeded(what: "array nesting of \(key)", value: UInt64(depth + 1)) }
            let elementType = try c.read(UInt32.self, "array type of \(key)")
            let count = try c.read(UInt64.self, "array length of \(key)")
            // Every element takes at least one byte: a count beyond the remaining bytes is a lie.
            guard count <= UInt64(c.remaining) else { throw GGUFError.truncated(what: "array \(key)", offset: c.offset) }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try readValue(&c, type: elementType, key: key, depth: depth + 1))
            }
            return .array(items)
        case 10: return .uint64(try c.read(UInt64.self, key))
        case 11: return .int64(try c.read(Int64.self, key))
        case 12: return .float64(Double(bitPattern: try c.read(UInt64.self, key)))
        default: throw GGUFError.unknownValueType(type, key: key)
        }
    }
}
