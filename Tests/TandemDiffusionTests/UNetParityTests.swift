import Foundation
import TandemDiffusion
import XCTest

/// The Swift UNet against diffusers' outputs for the same weights and inputs.
final class UNetParityTests: XCTestCase {
    static let tolerance = 1e-9  // NMSE against diffusers (float32 both sides)

    func loadIO(_ name: String) throws -> (x: [Float], t: [Double], c: [Int], y: [Float], batch: Int) {
        let io = try SafetensorsFile(contentsOf: Fixtures.url(name))
        let x = try io.tensor("sample")
        return (x.values, try io.tensor("timesteps").values.map(Double.init), try io.tensor("class_labels").values.map { Int($0) },
                try io.tensor("output").values, x.shape[0])
    }

    func testTinyUNetMatchesDiffusers() throws {
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        let io = try loadIO("tiny_unet_io.safetensors")
        let y = try unet.forward(sample: io.x, batch: io.batch, timesteps: io.t, classLabels: io.c)
        print("tiny UNet vs diffusers: NMSE \(nmse(y, io.y))")
        XCTAssertLessThan(nmse(y, io.y), Self.tolerance)
        // The scalar path (direct convolution, loop attention) agrees too.
        let scalar = try unet.forward(sample: io.x, batch: io.batch, timesteps: io.t, classLabels: io.c, scalar: true)
        XCTAssertLessThan(nmse(scalar, io.y), Self.tolerance)
    }

    func testEachSampleIsIndependentOfItsBatch() throws {
        var unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        unet.threads = 2
        unet.maxSamplesPerChunk = 2  // batch 3 runs as 2 + 1, the chunks on two threads
        let io = try loadIO("tiny_unet_io.safetensors")
        let whole = try unet.forward(sample: io.x, batch: io.batch, timesteps: io.t, classLabels: io.c)
        let per = io.x.count / io.batch
        for b in 0..<io.batch {
            let single = try unet.forward(sample: Array(io.x[(b * per)..<((b + 1) * per)]), batch: 1, timesteps: [io.t[b]], classLabels: [io.c[b]])
            XCTAssertLessThan(nmse(single, Array(whole[(b * per)..<((b + 1) * per)])), 1e-12)
        }
        unet.maxSamplesPerChunk = 1  // three chunks on two threads
        XCTAssertLessThan(nmse(try unet.forward(sample: io.x, batch: io.batch, timesteps: io.t, classLabels: io.c), whole), 1e-12)
    }

    func testLegacyAttentionNamesLoad() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.url("tiny_unet/diffusion_pytorch_model.safetensors"))
        var renamed: [String: (shape: [Int], values: [Float])] = [:]
        for name in file.names {
            let legacy = name.replacingOccurrences(of: ".to_q.", with: ".query.").replacingOccurrences(of: ".to_k.", with: ".key.")
                .replacingOccurrences(of: ".to_v.", with: ".value.").replacingOccurrences(of: ".to_out.0.", with: ".proj_attn.")
            renamed[legacy] = try file.tensor(name)
        }
        XCTAssertNotNil(renamed["mid_block.attentions.0.proj_attn.weight"])
        let config = try UNet2DConfig(contentsOf: Fixtures.url("tiny_unet/config.json"))
        let unet = try UNet2DModel(config: config, weights: SafetensorsFile(data: SafetensorsFile.encode(renamed)))
        let io = try loadIO("tiny_unet_io.safetensors")
        let y = try unet.forward(sample: io.x, batch: io.batch, timesteps: io.t, classLabels: io.c)
        XCTAssertLessThan(nmse(y, io.y), Self.tolerance)
    }

    func testRejectsBadInputs() throws {
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        let x = [Float](repeating: 0, count: 3 * 64)
        XCTAssertThrowsError(try unet.forward(sample: x, batch: 1, timesteps: [10], classLabels: nil))
        XCTAssertThrowsError(try unet.forward(sample: x, batch: 1, timesteps: [10], classLabels: [5]))
        XCTAssertThrowsError(try unet.forward(sample: x, batch: 2, timesteps: [10, 10], classLabels: [1, 1]))
        let six = [Float](repeating: 0, count: 6 * 3 * 64)  // above maxSamplesPerChunk: the chunked path checks too
        XCTAssertThrowsError(try unet.forward(sample: six, batch: 6, timesteps: [Double](repeating: 1, count: 6), classLabels: [1, 1]))
        let file = try SafetensorsFile(contentsOf: Fixtures.url("tiny_unet/diffusion_pytorch_model.safetensors"))
        var missing: [String: (shape: [Int], values: [Float])] = [:]
        for name in file.names where name != "conv_out.bias" { missing[name] = try file.tensor(name) }
        let config = try UNet2DConfig(contentsOf: Fixtures.url("tiny_unet/config.json"))
        XCTAssertThrowsError(try UNet2DModel(config: config, weights: SafetensorsFile(data: SafetensorsFile.encode(missing)))) {
            XCTAssertEqual($0 as? SafetensorsError, .missingTensor("conv_out.bias"))
        }
    }
}
