import CMessagePack

/// MessagePack encoding and decoding of header maps through msgpack-c.
public enum MessagePackCodec {
    /// Encodes a header map. Keys are written in sorted order so equal headers give equal bytes.
    public static func encode(_ header: [String: WireValue]) -> [UInt8] {
        var buffer = msgpack_sbuffer()
        msgpack_sbuffer_init(&buffer)
        defer { msgpack_sbuffer_destroy(&buffer) }
        var packer = msgpack_packer()
        msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write)
        pack(.map(header), into: &packer)
        guard let data = buffer.data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: buffer.size))
    }

    /// Decodes a header frame into its map, refusing anything `MessagePackValidator` refuses,
    /// duplicate keys and a top-level value that is not a map.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> [String: WireValue] {
        if bytes.count > ProtocolConstants.maxHeaderBytes { throw .headerTooLarge(bytes.count) }
        var result: Result<[String: WireValue], WireError> = .failure(.headerNotAMap)
        bytes.withUnsafeBytes { raw in
            do {
                try MessagePackValidator.validate(raw)
                result = .success(try unpack(raw))
            } catch let error as WireError {
                result = .failure(error)
            } catch {
                result = .failure(.malformedHeader("\(error)", offset: 0))
            }
        }
        return try result.get()
    }

    private static func unpack(_ raw: UnsafeRawBufferPointer) throws(WireError) -> [String: WireValue] {
        var unpacked = msgpack_unpacked()
        msgpack_unpacked_init(&unpacked)
        defer { msgpack_unpacked_destroy(&unpacked) }
        var offset = 0
        let status = raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) { chars in
            msgpack_unpack_next(&unpacked, chars, raw.count, &offset)
        }
        guard status == MSGPACK_UNPACK_SUCCESS, offset == raw.count else {
            throw .malformedHeader("msgpack-c refused the frame (status \(status.rawValue))", offset: offset)
        }
        guard case .map(let map) = try value(of: unpacked.data) else { throw .headerNotAMap }
        return map
    }

    private static func value(of object: msgpack_object) throws(WireError) -> WireValue {
        switch object.type {
        case MSGPACK_OBJECT_NIL: return .null
        case MSGPACK_OBJECT_BOOLEAN: return .bool(object.via.boolean)
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            // One spelling per number: `.uint` only where `.int` cannot hold it.
            let number = object.via.u64
            return number <= UInt64(Int64.max) ? .int(Int64(number)) : .uint(number)
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return .int(object.via.i64)
        case MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64: return .double(object.via.f64)
        case MSGPACK_OBJECT_STR: return .string(try string(object.via.str))
        case MSGPACK_OBJECT_BIN:
            let bin = object.via.bin
            return .binary(bin.size == 0 ? [] : Array(UnsafeRawBufferPointer(start: bin.ptr, count: Int(bin.size))))
        case MSGPACK_OBJECT_ARRAY:
            let array = object.via.array
            var values: [WireValue] = []
            values.reserveCapacity(Int(array.size))
            for i in 0..<Int(array.size) { values.append(try value(of: array.ptr[i])) }
            return .array(values)
        case MSGPACK_OBJECT_MAP:
            let map = object.via.map
            var values: [String: WireValue] = [:]
            for i in 0..<Int(map.size) {
                let pair = map.ptr[i]
                guard pair.key.type == MSGPACK_OBJECT_STR else { throw .headerNotAMap }
                let key = try string(pair.key.via.str)
                if values[key] != nil { throw .duplicateKey(key) }
                values[key] = try value(of: pair.val)
            }
            return .map(values)
        default:
            throw .malformedHeader("unsupported MessagePack type \(object.type.rawValue)", offset: 0)
        }
    }

    private static func string(_ str: msgpack_object_str) throws(WireError) -> String {
        if str.size == 0 { return "" }
        let bytes = UnsafeRawBufferPointer(start: str.ptr, count: Int(str.size))
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(offset: 0) }
        return text
    }

    private static func pack(_ value: WireValue, into packer: inout msgpack_packer) {
        switch value {
        case .null: msgpack_pack_nil(&packer)
        case .bool(let flag): _ = flag ? msgpack_pack_true(&packer) : msgpack_pack_false(&packer)
        case .int(let number): msgpack_pack_int64(&packer, number)
        case .uint(let number): msgpack_pack_uint64(&packer, number)
        case .double(let number): msgpack_pack_double(&packer, number)
        case .string(let text): packString(text, into: &packer)
        case .binary(let bytes):
            msgpack_pack_bin(&packer, bytes.count)
            bytes.withUnsafeBytes { _ = msgpack_pack_bin_body(&packer, $0.baseAddress, $0.count) }
        case .array(let values):
            msgpack_pack_array(&packer, values.count)
            for element in values { pack(element, into: &packer) }
        case .map(let values):
            msgpack_pack_map(&packer, values.count)
            for key in values.keys.sorted() {
                packString(key, into: &packer)
                pack(values[key]!, into: &packer)
            }
        }
    }

    private static func packString(_ text: String, into packer: inout msgpack_packer) {
        var text = text
        text.withUTF8 { utf8 in
            msgpack_pack_str(&packer, utf8.count)
            _ = msgpack_pack_str_body(&packer, utf8.baseAddress, utf8.count)
        }
    }
}
