import ArgumentParser
import Foundation
import TandemDiffusion

/// `tandem bench render`: images/s and latency of the glyph model, batching across requests on and
/// off, and diffusers on CPU with the same model, solver, steps and threads in the same run.
struct BenchRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Benchmark rendering against diffusers on the same model.")

    @Option(help: "dpmpp-2m, dpmpp-3m, dpmpp-2m-karras, unipc, deis, ddim or euler.") var solver = "dpmpp-2m"
    @Option(help: "Solver steps.") var steps = 10
    @Option(help: "Concurrent single-image requests.") var concurrency = 16
    @Option(help: "Classifier-free guidance scale.") var guidance: Float = 3
    @Option(help: "Compute threads (both sides).") var threads = 1
    @Option(help: "Model directory (default: the bundled glyphs16).") var model: String?
    @Option(help: "Python with torch + diffusers for the reference (empty: skip it).") var python = "python3"
    @Option(help: "Rounds of the batched runs, tandem and diffusers alternating; more than 1 prints the ratio of the medians.") var rounds = 1
    @Flag(help: "Also print where the UNet's time goes per kind of op (one more batched run, timed per op).") var ops = false
    @Flag(help: "Measure readability instead of speed: every solver at --steps against DDIM at 50 steps, same seeds.") var quality = false
    @Option(help: "Renders per glyph class for --quality (36 classes).") var perClass = 10
    @Option(help: "Guidance scales for --quality, comma-separated (each gets its own DDIM-50 reference).") var guidances = "3"
    @Option(help: "Reference glyphs for --quality (tools/glyph_atlas.py).") var atlas = "Tests/TandemDiffusionTests/Fixtures/glyph_atlas16.png"

    func run() throws {
        guard let kind = SolverKind(rawValue: solver) else {
            throw CLIError("unknown solver \(solver); one of \(SolverKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var renderer = try GlyphRenderer(modelDirectory: model.map { URL(fileURLWithPath: $0) })
        renderer.unet.threads = threads
        let size = renderer.unet.config.sampleSize
        if quality { return try runQuality(renderer) }
        print("render benchmark: \(size)×\(size) glyph model, \(kind.rawValue), \(steps) steps, guidance \(guidance), \(concurrency) requests, \(threads) thread(s), load \(LoadAverage.text)")
        // The compute bound: what the UNet costs per sample, and per image (a guided step runs
        // the conditional and the empty-class sample).
        let flopsPerSample = 2 * Double(renderer.unet.multiplyAddsPerSample)
        let samplesPerImage = Double(steps * (guidance == 1 ? 1 : 2))
        let isa = ["portable C", "AVX2 + FMA", "AVX-512F"][Conv2D.bestLevel]
        print(String(format: "UNet: %.1f MFLOP per sample, %.2f GFLOP per image (%d samples); kernels: %@",
                     flopsPerSample / 1e6, flopsPerSample * samplesPerImage / 1e9, Int(samplesPerImage), isa))
        let bench = RenderBenchmark(renderer: renderer, solver: kind, steps: steps, guidance: guidance)
        // Warm-up at full size on both sides (bench_diffusers.py does the same): the first run at a
        // new batch size grows the heap and faults its pages in, which a server does once.
        _ = try bench.run(concurrency: concurrency, batching: true)
        let batched = try bench.run(concurrency: concurrency, batching: true)
        let sequential = try bench.run(concurrency: concurrency, batching: false)
        for result in [batched, sequential] {
            print(String(format: "tandem    %@ (%.1f GFLOP/s in the UNet's arithmetic)", result.description,
                         result.imagesPerSecond * samplesPerImage * flopsPerSample / 1e9))
        }
        if ops {
            OpProfile.shared.start()
            let profiled = try bench.run(concurrency: concurrency, batching: true)
            print("per op, batching on, \(threads) thread(s) (one more run, timed per op: \(String(format: "%.1f", profiled.imagesPerSecond)) images/s):")
            OpProfile.table(OpProfile.shared.stop(), runSeconds: profiled.seconds).forEach { print($0) }
        }
        guard !python.isEmpty else { return }
        guard let reference = try runDiffusers(batchedOnly: false, echo: true) else {
            print("diffusers skipped: `\(python) tools/bench_diffusers.py` failed (it needs PyPI's torch and diffusers)")
            return
        }
        if let referenceCPU = reference.batchedCPU, batched.cpuSeconds > 0 {
            // CPU seconds per image, batched: the comparison that other processes on the cores disturb least.
            print(String(format: "cpu per image, batched: tandem %.1f ms, diffusers %.1f ms = %.2f×", 1e3 * batched.cpuSeconds / Double(concurrency),
                         1e3 * referenceCPU / Double(concurrency), referenceCPU / batched.cpuSeconds))
        }
        if let best = [reference.batched, reference.sequential].compactMap({ $0 }).max(), best > 0 {
            let tandemBest = max(batched.imagesPerSecond, sequential.imagesPerSecond)
            print(String(format: "ratio: tandem best / diffusers best = %.2f× (tandem batched %.1f, sequential %.1f; diffusers best %.1f images/s)",
                         tandemBest / best, batched.imagesPerSecond, sequential.imagesPerSecond, best))
        }
        guard rounds > 1, let firstReference = reference.batched else { return }
        // More rounds of the batched runs only, tandem and diffusers alternating, so that both
        // sides see the same stretches of a noisy machine; the ratio of the medians is the figure.
        var ours = [batched.imagesPerSecond], theirs = [firstReference]
        for _ in 2...rounds {
            ours.append(try bench.run(concurrency: concurrency, batching: true).imagesPerSecond)
            guard let next = try runDiffusers(batchedOnly: true, echo: false)?.batched else { break }
            theirs.append(next)
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        func list(_ values: [Double]) -> String { values.map { String(format: "%.1f", $0) }.joined(separator: " ") }
        let perRound = zip(ours, theirs).map { $0 / $1 }
        print("batched, \(ours.count) rounds interleaved: tandem \(list(ours)) images/s, diffusers \(list(theirs)) images/s; per round \(perRound.map { String(format: "%.2f×", $0) }.joined(separator: " "))")
        print(String(format: "ratio of medians (batched): %.2f× (tandem %.1f, diffusers %.1f images/s); lowest round %.2f×; load %@",
                     median(ours) / median(theirs), median(ours), median(theirs), perRound.min() ?? 0, LoadAverage.text))
    }

    /// One run of tools/bench_diffusers.py with the same settings and thread limit; nil if it fails.
    /// Its lines are echoed when `echo`.
    func runDiffusers(batchedOnly: Bool, echo: Bool) throws -> (batched: Double?, sequential: Double?, batchedCPU: Double?)? {
        guard let kind = SolverKind(rawValue: solver) else { return nil }
        let directory = model ?? GlyphRenderer.defaultModelDirectory?.path ?? ""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "tools/bench_diffusers.py", "--model", directory, "--solver", kind.rawValue, "--steps", "\(steps)",
                             "--concurrency", "\(concurrency)", "--guidance", "\(guidance)", "--threads", "\(threads)"]
            + (batchedOnly ? ["--batched-only"] : [])
        process.environment = ProcessInfo.processInfo.environment.merging(["OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "\(threads)"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        var rates: [String: Double] = [:], batchedCPU: Double?
        for line in output.split(separator: "\n") {
            if echo { print(line.hasPrefix("diffusers") ? String(line) : "diffusers \(line)") }
            // "batched   : 16 images in 2.00 s = 8.0 images/s, latency mean 2.000 s, cpu 1.98 s"
            if let mode = line.split(separator: " ").first, let equals = line.range(of: "= "), let unit = line.range(of: " images/s") {
                rates[String(mode)] = Double(line[equals.upperBound..<unit.lowerBound])
            }
            if line.hasPrefix("batched"), let cpu = line.range(of: "cpu ") {
                batchedCPU = Double(line[cpu.upperBound...].split(separator: " ").first ?? "")
            }
        }
        return (rates["batched"], rates["sequential"], batchedCPU)
    }

    /// The readability table: accuracy with its 95 % interval, and the paired difference from DDIM
    /// at 50 steps with the same guidance (same seeds, so only images the two read differently count).
    func runQuality(_ renderer: GlyphRenderer) throws {
        let scales = guidances.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !scales.isEmpty, perClass >= 1 else { throw CLIError("--guidances needs numbers and --per-class at least 1") }
        let image = try PNGCodec.decode(Data(contentsOf: URL(fileURLWithPath: atlas)))
        let size = renderer.unet.config.sampleSize
        let classifier = NearestGlyphClassifier(atlas: image, cellSize: size, classes: GlyphRenderer.characters.count)
        let evaluation = ReadabilityEvaluation(renderer: renderer, classifier: classifier, perClass: perClass, seed: 1)
        let renders = perClass * GlyphRenderer.characters.count
        print("readability: \(renders) renders per setting (\(perClass) per class, seed 1, the same noise for every setting), nearest glyph of \(image.height / size) fonts; load \(LoadAverage.text)")
        print("| solver | steps | guidance | readable | 95 % interval | vs DDIM-50 (paired) | 95 % interval | seconds |")
        print("|---|---:|---:|---:|---|---:|---|---:|")
        func percent(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
        for scale in scales {
            let reference = try evaluation.run(.init(solver: .ddim, steps: 50, guidance: scale))
            var rows = [reference]
            for kind in SolverKind.allCases { rows.append(try evaluation.run(.init(solver: kind, steps: steps, guidance: scale))) }
            for row in rows {
                let accuracy = row.accuracy, paired = PairedProportionDifference(row.correct, reference.correct)
                let versus = row.setting == reference.setting ? ("—", "—")
                    : (String(format: "%+.1f pt", 100 * paired.difference),
                       String(format: "%+.1f … %+.1f pt", 100 * paired.interval95.lowerBound, 100 * paired.interval95.upperBound))
                print("| \(row.setting.solver.rawValue) | \(row.setting.steps) | \(String(format: "%g", scale)) | \(percent(accuracy.value)) | "
                      + "\(percent(accuracy.interval95.lowerBound)) … \(percent(accuracy.interval95.upperBound)) | \(versus.0) | \(versus.1) | "
                      + String(format: "%.1f", row.seconds) + " |")
            }
        }
    }
}
