import Foundation

/// A safetensors file read into memory: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw bytes.
///
/// The header is validated before any tensor is touched: offsets must lie inside the data, match
/// the dtype and shape, and the header length must fit the file. Tensors convert to `Float` on
/// request (F32, F16, BF16 and F64 are understood).
///
///     let file = try SafetensorsFile(contentsOf: url)
///     let weight = try file.tensor("conv_in.weight")   // (shape: [32, 3, 3, 3], values: [...])
public struct SafetensorsFile: Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32"

        var byteCount: Int {
            switch self {
            case .f16, .bf16: 2
            case .f32, .i32: 4
            case .f64, .i64: 8
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        public let byteRange: Range<Int>
    }

    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        try self.init(data: try Data(contentsOf: url, options: .alwaysMapped))
    }

    public init(data: Data) throws {
        guard data.count >= 8 else { throw SafetensorsError.truncated("file shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw SafetensorsError.truncated("header length \(headerLength) exceeds the file")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd))
        } catch {
            throw SafetensorsError.badHeader("header is not JSON: \(error)")
        }
        guard let header = json as? [String: Any] else { throw SafetensorsError.badHeader("header is not a JSON object") }
        let dataLength = data.count - headerEnd
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String }
                continue
            }
            guard let fields = value as? [String: Any],
                  let dtypeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int],
                  let offsets = fields["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafetensorsError.badHeader("tensor \(name): missing dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafetensorsError.unsupportedDType(name: name, dtype: dtypeName)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw SafetensorsError.badHeader("tensor \(name): offsets \(offsets) outside the \(dataLength) data bytes")
            }
            let expected = shape.reduce(1, *) * dtype.byteCount
            guard offsets[1] - offsets[0] == expected else {
                throw SafetensorsError.badHeader("tensor \(name): \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtypeName)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = headerEnd
    }

    public var names: [String] { entries.keys.sorted() }

    /// The tensor's shape and its values as `Float`.
    public func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard let entry = entries[name] else { throw SafetensorsError.missingTensor(name) }
        let count = entry.shape.reduce(1, *)
        let start = dataStart + entry.byteRange.lowerBound
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress!.advanced(by: start)
            switch entry.dtype {
            case .f32:
                for i in 0..<count { values[i] = Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .f64:
                for i in 0..<count { values[i] = Float(Double(bitPattern: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            case .f16:
                for i in 0..<count { values[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            case .i64:
                for i in 0..<count { values[i] = Float(Int64(bitPattern: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            case .i32:
                for i in 0..<count { values[i] = Float(Int32(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            }
        }
        return (entry.shape, values)
    }

    /// The tensor's values, checking its shape.
    public func tensor(_ name: String, shape expected: [Int]) throws -> [Float] {
        let (shape, values) = try tensor(name)
        guard shape == expected else { throw SafetensorsError.shapeMismatch(name: name, expected: expected, found: shape) }
        return values
    }

    /// Serializes F32 tensors into safetensors bytes (used by tests and tools).
    public static func encode(_ tensors: [String: (shape: [Int], values: [Float])]) -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let bytes = tensors[name]!.values.count * 4
            header[name] = ["dtype": "F32", "shape": tensors[name]!.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        }
        return out
    }
}

public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case badHeader(String)
    case unsupportedDType(name: String, dtype: String)
    case missingTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .truncated(let why): "safetensors: truncated: \(why)"
        case .badHeader(let why): "safetensors: bad header: \(why)"
        case .unsupportedDType(let name, let dtype): "safetensors: tensor \(name) has unsupported dtype \(dtype)"
        case .missingTensor(let name): "safetensors: no tensor named \(name)"
        case .shapeMismatch(let name, let expected, let found): "safetensors: tensor \(name) has shape \(found), expected \(expected)"
        }
    }
}
