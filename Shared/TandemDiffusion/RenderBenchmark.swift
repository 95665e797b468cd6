import Foundation

/// Measures render throughput and latency for C concurrent single-image requests, with batching
/// across requests (one `RenderBatch`) or without (requests served one after another).
public struct RenderBenchmark: Sendable {
    public struct Result: Sendable, CustomStringConvertible {
        public let batching: Bool
        public let images: Int
        public let seconds: Double
        public let meanLatencySeconds: Double
        public let p95LatencySeconds: Double
        /// CPU time of the whole process over the run (all threads): less disturbed than the wall
        /// time when other processes share the cores.
        public let cpuSeconds: Double
        public var imagesPerSecond: Double { Double(images) / seconds }

        public var description: String {
            String(format: "batching %@: %d images in %.2f s = %.1f images/s, latency mean %.3f s p95 %.3f s, cpu %.2f s",
                   batching ? "on " : "off", images, seconds, imagesPerSecond, meanLatencySeconds, p95LatencySeconds, cpuSeconds)
        }
    }

    public let renderer: GlyphRenderer
    public let solver: SolverKind
    public let steps: Int
    public let guidance: Float

    public init(renderer: GlyphRenderer, solver: SolverKind, steps: Int, guidance: Float) {
        self.renderer = renderer; self.solver = solver; self.steps = steps; self.guidance = guidance
    }

    /// All `concurrency` requests arrive at time 0; latency is each one's completion time.
    public func run(concurrency: Int, batching: Bool) throws -> Result {
        let plan = Solver(kind: solver, schedule: renderer.schedule, steps: steps)
        let sampler = GuidedSampler(unet: renderer.unet, emptyClass: renderer.emptyClass)
        func job(_ id: Int) -> RenderJob {
            RenderJob(id: id, classLabel: id % GlyphRenderer.characters.count, guidanceScale: guidance, solver: plan,
                      seed: 1, stream: UInt64(id), sampleCount: renderer.sampleCount)
        }
        func cpuNow() -> Double { var t = timespec(); clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
        let cpuStart = cpuNow()
        let start = DispatchTime.now().uptimeNanoseconds
        var latencies: [Double] = []
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        if batching {
            var batch = RenderBatch(maxJobsPerStep: Int.max)
            for id in 0..<concurrency { batch.add(job(id)) }
            while !batch.isEmpty {
                let done = try batch.step(using: sampler)
                latencies += done.map { _ in now() }
            }
        } else {
            for id in 0..<concurrency {
                var batch = RenderBatch()
                batch.add(job(id))
                while !batch.isEmpty { _ = try batch.step(using: sampler) }
                latencies.append(now())
            }
        }
        let total = now()
        let sorted = latencies.sorted()
        return Result(batching: batching, images: concurrency, seconds: total,
                      meanLatencySeconds: latencies.reduce(0, +) / Double(latencies.count),
                      p95LatencySeconds: sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)],
                      cpuSeconds: cpuNow() - cpuStart)
    }
}
