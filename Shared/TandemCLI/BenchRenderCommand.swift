import ArgumentParser
import Foundation
import TandemDiffusion

/// `tandem bench render`: images/s and latency of the glyph model, batching across requests on and
/// off, and diffusers on CPU with the same model, solver, steps and threads in the same run.
struct BenchRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Benchmark rendering against diffusers on the same model.")

    @Option(help: "dpmpp-2m, dpmpp-3m, unipc, deis, ddim or euler.") var solver = "dpmpp-2m"
    @Option(help: "Solver steps.") var steps = 10
    @Option(help: "Concurrent single-image requests.") var concurrency = 16
    @Option(help: "Classifier-free guidance scale.") var guidance: Float = 3
    @Option(help: "Compute threads (both sides).") var threads = 1
    @Option(help: "Model directory (default: the bundled glyphs16).") var model: String?
    @Option(help: "Python with torch + diffusers for the reference (empty: skip it).") var python = "python3"

    func run() throws {
        guard let kind = SolverKind(rawValue: solver) else {
            throw CLIError("unknown solver \(solver); one of \(SolverKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var renderer = try GlyphRenderer(modelDirectory: model.map { URL(fileURLWithPath: $0) })
        renderer.unet.threads = threads
        let size = renderer.unet.config.sampleSize
        print("render benchmark: \(size)×\(size) glyph model, \(kind.rawValue), \(steps) steps, guidance \(guidance), \(concurrency) requests, \(threads) thread(s), load \(LoadAverage.text)")
        let bench = RenderBenchmark(renderer: renderer, solver: kind, steps: steps, guidance: guidance)
        _ = try bench.run(concurrency: 2, batching: true)
        let batched = try bench.run(concurrency: concurrency, batching: true)
        let sequential = try bench.run(concurrency: concurrency, batching: false)
        print("tandem    \(batched)")
        print("tandem    \(sequential)")
        guard !python.isEmpty else { return }
        let directory = model ?? GlyphRenderer.defaultModelDirectory?.path ?? ""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "tools/bench_diffusers.py", "--model", directory, "--solver", kind.rawValue, "--steps", "\(steps)",
                             "--concurrency", "\(concurrency)", "--guidance", "\(guidance)", "--threads", "\(threads)"]
        process.environment = ProcessInfo.processInfo.environment.merging(["OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "\(threads)"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            print("diffusers skipped: `\(python) tools/bench_diffusers.py` failed (it needs PyPI's torch and diffusers)")
            return
        }
        var reference: Double?
        for line in output.split(separator: "\n") {
            print(line.hasPrefix("diffusers") ? String(line) : "diffusers \(line)")
            // "batched   : 16 images in 2.00 s = 8.0 images/s, …"
            if line.hasPrefix("batched"), let equals = line.range(of: "= "), let unit = line.range(of: " images/s") {
                reference = Double(line[equals.upperBound..<unit.lowerBound])
            }
        }
        if let reference, reference > 0 {
            print(String(format: "ratio: tandem batched / diffusers batched = %.2f×", batched.imagesPerSecond / reference))
        }
    }
}
