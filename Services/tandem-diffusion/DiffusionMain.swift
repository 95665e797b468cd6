import ArgumentParser
import Foundation
import TandemDiffusion
import TandemRender
import TandemService

/// `tandem-diffusion`: a worker of the `diffusion` service, rendering `render` jobs.
@main
struct DiffusionMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-diffusion", abstract: "Diffusion render worker: glyph model, fast ODE solvers, steps batched across requests.")

    @OptionGroup var options: WorkerOptions

    @Option(name: .long, help: "Model directory (diffusers UNet2DModel: config.json, safetensors, scheduler_config.json); default the bundled glyphs16 (env TANDEM_GLYPH_MODEL).")
    var model: String?

    @Option(name: .customLong("max-glyphs-per-step"), help: "Glyphs in one UNet call (each is two samples with guidance).")
    var maxGlyphsPerStep: Int = 64

    @Option(name: .long, help: "Compute threads for the UNet's convolutions (this machine's two cores by default, like the model services).")
    var threads = 2

    func run() async throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        var renderer = try GlyphRenderer(modelDirectory: model.map { URL(fileURLWithPath: $0) })
        renderer.unet.threads = threads
        let engine = RenderEngine(renderer: renderer, maxGlyphsPerStep: maxGlyphsPerStep)
        defer { engine.stop() }
        try await options.runWorker(service: "diffusion", defaultCapacity: 16, handler: RenderHandler(engine: engine))
    }
}
