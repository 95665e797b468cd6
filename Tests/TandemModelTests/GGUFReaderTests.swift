import Foundation
import TandemKernels
@testable import TandemModel
import XCTest

final class GGUFReaderTests: XCTestCase {
    func temporaryPath(_ name: String = UUID().uuidString) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tandem-gguf-\(name).gguf").path
    }

    func write(_ bytes: [UInt8]) throws -> String {
        let path = temporaryPath()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func sampleWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.metadata = [
            ("general.architecture", .string("llama")),
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-70000)), ("f32", .float32(1.5)), ("bool", .bool(true)),
            ("string", .string("héllo ✓")), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))), ("f64", .float64(2.25)),
            ("array", .array([.string("a"), .string("bc")])),
            ("nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])])),
        ]
        let values = (0..<64).map { Float($0) / 10 - 3 }
        w.tensors = [
            .init(name: "f32", type: .f32, dimensions: [64], bytes: WeightQuantizer.encode(values, as: .f32)),
            .init(name: "f16", type: .f16, dimensions: [32, 2], bytes: WeightQuantizer.encode(values, as: .f16)),
            .init(name: "q4_0", type: .q4_0, dimensions: [32, 2], bytes: WeightQuantizer.encode(values, as: .q4_0)),
            .init(name: "q4_1", type: .q4_1, dimensions: [64], bytes: WeightQuantizer.encode(values, as: .q4_1)),
            .init(name: "q8_0", type: .q8_0, dimensions: [64, 1], bytes: WeightQuantizer.encode(values, as: .q8_0)),
        ]
        return w
    }

    func testReadsEveryValueTypeAndTensorType() throws {
        let file = try GGUFFile(path: try write(sampleWriter().serialize()))
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadata["u8"], .uint8(200))
        XCTAssertEqual(file.metadata["i8"], .int8(-5))
        XCTAssertEqual(file.metadata["u16"], .uint16(60000))
        XCTAssertEqual(file.metadata["i16"], .int16(-300))
        XCTAssertEqual(file.metadata["u32"], .uint32(4_000_000_000))
        XCTAssertEqual(file.metadata["i32"], .int32(-70000))
        XCTAssertEqual(file.metadata["f32"], .float32(1.5))
        XCTAssertEqual(file.metadata["bool"], .bool(true))
        XCTAssertEqual(file.metadata["string"], .string("héllo ✓"))
        XCTAssertEqual(file.metadata["u64"], .uint64(1 << 40))
        XCTAssertEqual(file.metadata["i64"], .int64(-(1 << 40)))
        XCTAssertEqual(file.metadata["f64"], .float64(2.25))
        XCTAssertEqual(file.metadata["array"], .array([.string("a"), .string("bc")]))
        XCTAssertEqual(file.metadata["nested"]?.arrayValue?.count, 2)
        XCTAssertEqual(file.tensors.map(\.name), ["f32", "f16", "q4_0", "q4_1", "q8_0"])
        let values = (0..<64).map { Float($0) / 10 - 3 }
        for t in file.tensors {
            XCTAssertEqual(t.fileOffset % file.alignment, 0)
            XCTAssertEqual(t.elementCount, 64)
            let m = WeightMatrix(format: t.type.kernelFormat, rows: t.rowCount, columns: t.rowLength, data: t.data)
            var out = [Float](repeating: 0, count: 64)
            out.withUnsafeMutableBufferPointer { p in for r in 0..<m.rows { m.dequantizeRow(r, into: p.baseAddress! + r * m.columns) } }
            let tolerance: Float = t.type == .f32 ? 0 : (t.type == .f16 || t.type == .q8_0 ? 0.03 : 0.25)
            for (a, b) in zip(out, values) { XCTAssertEqual(a, b, accuracy: tolerance, "\(t.name)") }
        }
    }

    func testEveryTruncationIsRefusedWithoutCrashing() throws {
        let bytes = sampleWriter().serialize()
        // Every cut inside the header, metadata and directory, and a few inside the data.
        let dataCuts = stride(from: bytes.count - 200, to: bytes.count, by: 7)
        var cuts = Array(0..<min(bytes.count, 900))
        cuts += dataCuts
        for n in cuts {
            let path = try write(Array(bytes.prefix(n)))
            XCTAssertThrowsError(try GGUFFile(path: path), "prefix of \(n) bytes was accepted")
        }
    }

    func testRefusesBadMagicAndVersion() throws {
        var bytes = sampleWriter().serialize()
        bytes[0] = UInt8(ascii: "X")
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { guard case GGUFError.badMagic = $0 else { return XCTFail("\($0)") } }
        bytes = sampleWriter().serialize()
        bytes[4] = 2
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { XCTAssertEqual($0 as? GGUFError, .unsupportedVersion(2)) }
    }

    func testRefusesUnknownTensorTypeAndLyingOffsets() throws {
        // Unknown tensor type: patch the q8_0 tensor's type field (the one before its offset).
        var w = sampleWriter()
        w.tensors = [w.tensors[0]]
        var bytes = w.serialize()
        let typeIndex = try XCTUnwrap(findTensorTypeField(bytes, name: "f32"))
        bytes[typeIndex] = 14  // Q2_K
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { XCTAssertEqual($0 as? GGUFError, .unknownTensorType(14, tensor: "f32")) }

        // An offset past the end of the file.
        bytes = w.serialize()
        let offsetIndex = typeIndex + 4
        bytes[offsetIndex + 3] = 0x7F
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes)))

        // An unaligned offset.
        bytes = w.serialize()
        bytes[offsetIndex] = 3
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { guard case GGUFError.badTensor = $0 else { return XCTFail("\($0)") } }
    }

    func testRefusesOverlappingTensorsAndHugeCounts() throws {
        var w = sampleWriter()
        w.tensors = [w.tensors[0], w.tensors[3]]
        var bytes = w.serialize()
        let second = try XCTUnwrap(findTensorTypeField(bytes, name: "q4_1")) + 4
        for i in 0..<8 { bytes[second + i] = 0 }  // second tensor now starts where the first does
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { guard case GGUFError.badTensor = $0 else { return XCTFail("\($0)") } }

        // A metadata count far beyond what the file could hold is refused before allocating.
        bytes = w.serialize()
        for i in 16..<24 { bytes[i] = 0xFF }
        XCTAssertThrowsError(try GGUFFile(path: try write(bytes))) { guard case GGUFError.limitExceeded = $0 else { return XCTFail("\($0)") } }
    }

    func testRefusesUnsupportedArchitecture() throws {
        var w = sampleWriter()
        w.metadata[0] = ("general.architecture", .string("gpt-neox"))
        let file = try GGUFFile(path: try write(w.serialize()))
        XCTAssertThrowsError(try LlamaConfig(file: file)) { XCTAssertEqual($0 as? GGUFError, .unsupportedArchitecture("gpt-neox")) }
    }

    /// The index of the type field of tensor `name` in the directory.
    func findTensorTypeField(_ bytes: [UInt8], name: String) -> Int? {
        let needle = Array(name.utf8)
        var lengthBytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(needle.count).littleEndian) { lengthBytes = Array($0) }
        let pattern = lengthBytes + needle
        var i = 24
        while i + pattern.count < bytes.count {
            if Array(bytes[i..<i + pattern.count]) == pattern {
                var p = i + pattern.count
                let dims = Int(bytes[p]); p += 4 + 8 * dims
                // Skip metadata matches: a tensor entry has 1–4 dims.
                if dims >= 1 && dims <= 4 { return p }
            }
            i += 1
        }
        return nil
    }
}
