// tandem-diffusion-bench: render throughput of the glyph model, batching across requests on and
// off. Usage: tandem-diffusion-bench [--solver dpmpp-2m] [--steps 10] [--concurrency 16]
//             [--guidance 3] [--threads 1] [--model DIR]
// (`tandem bench render` will call RenderBenchmark the same way once the CLI has the subcommand.)
import Foundation
import TandemDiffusion

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let key = arguments.popFirst() {
    guard key.hasPrefix("--"), let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: tandem-diffusion-bench [--solver S] [--steps N] [--concurrency C] [--guidance G] [--threads T] [--model DIR]\n".utf8))
        exit(2)
    }
    options[String(key.dropFirst(2))] = value
}
do {
    guard let solver = SolverKind(rawValue: options["solver"] ?? "dpmpp-2m") else {
        throw GlyphRendererError.badOptions("solver must be one of \(SolverKind.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    var renderer = try GlyphRenderer(modelDirectory: options["model"].map { URL(fileURLWithPath: $0) })
    renderer.unet.threads = Int(options["threads"] ?? "1") ?? 1
    let steps = Int(options["steps"] ?? "10") ?? 10
    let concurrency = Int(options["concurrency"] ?? "16") ?? 16
    let bench = RenderBenchmark(renderer: renderer, solver: solver, steps: steps, guidance: Float(options["guidance"] ?? "3") ?? 3)
    if options["profile"] != nil {
        // UNet time per sample at several batch sizes, interleaved to share the machine's noise.
        let per = renderer.sampleCount
        for _ in 0..<3 {
            var line = "UNet ms/sample:"
            for batch in [1, 8, 32, 64] {
                let x = GaussianNoise.sample(seed: 1, stream: 0, count: per * batch)
                let start = DispatchTime.now().uptimeNanoseconds
                var done = 0
                while done < 64 {
                    _ = try renderer.unet.forward(sample: x, batch: batch, timesteps: (0..<batch).map { Double($0 * 7) }, classLabels: (0..<batch).map { $0 % 36 })
                    done += batch
                }
                line += String(format: " b%d %.2f", batch, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(done))
            }
            print(line)
        }
    }
    print("solver \(solver.rawValue), \(steps) steps, concurrency \(concurrency), threads \(renderer.unet.threads), \(renderer.unet.config.sampleSize)x\(renderer.unet.config.sampleSize)")
    _ = try bench.run(concurrency: 2, batching: true)  // warm-up
    for batching in [true, false] { print(try bench.run(concurrency: concurrency, batching: batching)) }
} catch {
    FileHandle.standardError.write(Data("tandem-diffusion-bench: \(error)\n".utf8))
    exit(1)
}
