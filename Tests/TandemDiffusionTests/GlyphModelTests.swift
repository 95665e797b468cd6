import Foundation
import TandemDiffusion
import XCTest

/// The committed glyphs16 model: diffusers parity and readable renders.
final class GlyphModelTests: XCTestCase {
    func renderer() throws -> GlyphRenderer {
        guard let dir = GlyphRenderer.defaultModelDirectory,
              FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path)
              || FileManager.default.fileExists(atPath: dir.appendingPathComponent("diffusion_pytorch_model.safetensors").path) else {
            throw XCTSkip("glyphs16 weights not committed")
        }
        return try GlyphRenderer()
    }

    func testTrainedUNetMatchesDiffusers() throws {
        let renderer = try renderer()
        let url = Fixtures.url("glyphs16_io.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no glyphs16 fixture") }
        let io = try SafetensorsFile(contentsOf: url)
        let x = try io.tensor("sample")
        let y = try renderer.unet.forward(sample: x.values, batch: x.shape[0], timesteps: try io.tensor("timesteps").values.map(Double.init),
                                          classLabels: try io.tensor("class_labels").values.map { Int($0) })
        print("glyphs16 UNet vs diffusers: NMSE \(nmse(y, try io.tensor("output").values))")
        XCTAssertLessThan(nmse(y, try io.tensor("output").values), 1e-9)

        // A guided 10-step DPM-Solver++ 2M render from diffusers' noise lands on diffusers' result.
        let solver = Solver(kind: .dpmpp2m, schedule: renderer.schedule, steps: 10)
        let sampler = GuidedSampler(unet: renderer.unet, emptyClass: renderer.emptyClass)
        var sample = try io.tensor("render_noise").values, state = SolverState()
        for i in 0..<10 {
            let out = try sampler.modelOutputs([.init(sample: sample, timestep: solver.timesteps[i], classLabel: 10, guidanceScale: 3)])
            (state, sample) = solver.step(state, modelOutput: out[0], sample: sample)
        }
        print("glyphs16 DPM-Solver++ 2M 10-step guided render vs diffusers: NMSE \(nmse(sample, try io.tensor("render_final").values))")
        XCTAssertLessThan(nmse(sample, try io.tensor("render_final").values), 1e-7)
    }

    /// Every class, rendered with the fast default (DPM-Solver++ 2M, 10 steps, guidance 3), is read
    /// back as that class by nearest neighbour against 52 fonts of the training set.
    func testRendersAreReadableGlyphs() throws {
        let renderer = try renderer()
        let atlas = try PNGCodec.decode(Data(contentsOf: Fixtures.url("glyph_atlas16.png")))
        let classifier = NearestGlyphClassifier(atlas: atlas, cellSize: 16, classes: 36)
        let characters = GlyphRenderer.characters
        let images = try renderer.render(characters, options: .init(solver: .dpmpp2m, steps: 10, guidance: 3, seed: 2026, count: 1))
        var correct = 0, total = 0
        var misread: [String] = []
        for (label, samples) in images.enumerated() {
            for image in samples {
                let read = classifier.classify(image)
                total += 1
                if read == label { correct += 1 } else { misread.append("\(characters[label])→\(characters[read])") }
            }
        }
        let accuracy = Double(correct) / Double(total)
        print("glyphs16 readability: \(correct)/\(total) (\(misread.joined(separator: " ")))")
        XCTAssertGreaterThanOrEqual(accuracy, GlyphModelTests.minimumAccuracy)
        let png = try PNGCodec.encode(RGBImage.row(images.map { $0[0] }).scaled(by: 4))
        XCTAssertGreaterThan(png.count, 100)
    }

    static let minimumAccuracy = 0.8  // measured 32/36 (0.89) with the committed weights

    func testUnknownCharactersAndBadOptionsAreRefused() throws {
        let renderer = try renderer()
        XCTAssertThrowsError(try renderer.render("?", options: .init())) {
            XCTAssertEqual($0 as? GlyphRendererError, .unknownCharacter("?"))
        }
        XCTAssertThrowsError(try renderer.render("A", options: .init(steps: 0)))
        XCTAssertEqual(try renderer.classLabel(for: "a"), 10)
    }
}
