// tandem-diffusion-bench: render throughput of the glyph model, batching across requests on and
// off. Usage: tandem-diffusion-bench [--solver dpmpp-2m] [--steps 10] [--concurrency 16]
//             [--guidance 3] [--threads 1] [--model DIR]
//             [--chunk SAMPLES] [--profile 1] [--convergence SAMPLES [--atlas glyph_atlas16.png]] [--word TEXT --out FILE.png --seed S]
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
    if let chunk = options["chunk"].flatMap(Int.init) { renderer.unet.maxSamplesPerChunk = chunk }
    let steps = Int(options["steps"] ?? "10") ?? 10
    let concurrency = Int(options["concurrency"] ?? "16") ?? 16
    let bench = RenderBenchmark(renderer: renderer, solver: solver, steps: steps, guidance: Float(options["guidance"] ?? "3") ?? 3)
    if let word = options["word"] {
        // Render a word (one glyph per character) to a PNG, without a stack: a local check.
        let out = options["out"] ?? "word.png"
        let png = try renderer.renderWordPNG(word, options: .init(solver: solver, steps: Int(options["steps"] ?? "10") ?? 10,
                                                                  guidance: Float(options["guidance"] ?? "3") ?? 3,
                                                                  seed: UInt64(options["seed"] ?? "0") ?? 0))
        try png.write(to: URL(fileURLWithPath: out))
        print("wrote \(out) (\(png.count) bytes)")
        exit(0)
    }
    if options["profile"] != nil {
        // UNet time per sample at several batch sizes, interleaved to share the machine's noise.
        let per = renderer.sampleCount
        for (m, k, n) in [(64, 576, 4096), (32, 864, 8192), (64, 64, 256)] {
            let a = GaussianNoise.sample(seed: 1, stream: 1, count: m * k), b = GaussianNoise.sample(seed: 1, stream: 2, count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            let start = DispatchTime.now().uptimeNanoseconds
            let repeats = max(1, 400_000_000 / (m * n * k))
            for _ in 0..<repeats {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    MatrixMultiply.fast(ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, m: m, k: k, n: n, threads: renderer.unet.threads)
                } } }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(String(format: "matmul %dx%dx%d: %.1f GFLOP/s (c[0] %.3f)", m, k, n, 2.0 * Double(m * n * k * repeats) / seconds / 1e9, c[0]))
        }
        for _ in 0..<3 {
            // Wall and CPU time (the CPU time is less disturbed by neighbours on a shared machine).
            var line = "UNet ms/sample wall/cpu:"
            func cpuSeconds() -> Double { var t = timespec(); clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
            for batch in [1, 8, 32, 64] {
                let x = GaussianNoise.sample(seed: 1, stream: 0, count: per * batch)
                let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSeconds()
                var done = 0
                while done < 64 {
                    _ = try renderer.unet.forward(sample: x, batch: batch, timesteps: (0..<batch).map { Double($0 * 7) }, classLabels: (0..<batch).map { $0 % 36 })
                    done += batch
                }
                line += String(format: " b%d %.2f/%.2f", batch, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(done),
                               (cpuSeconds() - cpuStart) * 1e3 / Double(done))
            }
            print(line)
        }
    }
    if let samples = options["convergence"].flatMap(Int.init) {
        // Error vs steps per solver against a 200-step DPM-Solver++ 2M reference, as a markdown table.
        let guidance = Float(options["guidance"] ?? "3") ?? 3
        let sampler = GuidedSampler(unet: renderer.unet, emptyClass: renderer.emptyClass)
        func final(_ kind: SolverKind, _ n: Int) throws -> [[Float]] {
            let plan = Solver(kind: kind, schedule: renderer.schedule, steps: n)
            var batch = RenderBatch(maxJobsPerStep: Int.max)
            for id in 0..<samples {
                batch.add(RenderJob(id: id, classLabel: (id * 7) % 36, guidanceScale: guidance, solver: plan, seed: 11, stream: UInt64(id), sampleCount: renderer.sampleCount))
            }
            var done: [RenderJob] = []
            while !batch.isEmpty { done += try batch.step(using: sampler) }
            return done.sorted { $0.id < $1.id }.map(\.sample)
        }
        func rms(_ a: [[Float]], _ b: [[Float]]) -> Double {
            var sum = 0.0, count = 0
            for (x, y) in zip(a, b) { for (u, v) in zip(x, y) { sum += Double(u - v) * Double(u - v); count += 1 } }
            return (sum / Double(count)).squareRoot()
        }
        let reference = try final(.dpmpp2m, 200)
        let counts = [5, 10, 20, 50]
        print("| solver | " + counts.map { "\($0) steps" }.joined(separator: " | ") + " |")
        print("|---|" + counts.map { _ in "---:" }.joined(separator: "|") + "|")
        for kind in SolverKind.allCases {
            let errors = try counts.map { try rms(final(kind, $0), reference) }
            print("| \(kind.rawValue) | " + errors.map { String(format: "%.4f", $0) }.joined(separator: " | ") + " |")
        }
        if let atlasPath = options["atlas"] {
            // Readability: one glyph of every class, read back by nearest neighbour.
            let atlas = try PNGCodec.decode(Data(contentsOf: URL(fileURLWithPath: atlasPath)))
            let classifier = NearestGlyphClassifier(atlas: atlas, cellSize: renderer.unet.config.sampleSize, classes: GlyphRenderer.characters.count)
            print("")
            print("| readability (36 classes × 2) | accuracy |")
            print("|---|---:|")
            for (kind, n) in [(SolverKind.ddim, 50), (.ddim, 10), (.euler, 10), (.dpmpp2m, 10), (.dpmpp3m, 10), (.unipc, 10), (.deis, 10), (.dpmpp2m, 5), (.unipc, 5)] {
                let images = try renderer.render(GlyphRenderer.characters, options: .init(solver: kind, steps: n, guidance: guidance, seed: 5, count: 2))
                var correct = 0
                for (label, samples) in images.enumerated() { correct += samples.filter { classifier.classify($0) == label }.count }
                print("| \(kind.rawValue), \(n) steps | \(String(format: "%.1f %%", 100 * Double(correct) / 72)) |")
            }
        }
        exit(0)
    }
    print("solver \(solver.rawValue), \(steps) steps, concurrency \(concurrency), threads \(renderer.unet.threads), \(renderer.unet.config.sampleSize)x\(renderer.unet.config.sampleSize)")
    _ = try bench.run(concurrency: 2, batching: true)  // warm-up
    for batching in [true, false] { print(try bench.run(concurrency: concurrency, batching: batching)) }
} catch {
    FileHandle.standardError.write(Data("tandem-diffusion-bench: \(error)\n".utf8))
    exit(1)
}
