import Foundation
import TandemDiffusion
import XCTest

/// Requests join and leave the batch between steps without changing each other's results.
final class RenderBatchTests: XCTestCase {
    func testJobsAreIndependentOfWhoShareTheirSteps() throws {
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        let sampler = GuidedSampler(unet: unet, emptyClass: 4)
        let schedule = NoiseSchedule(config: SchedulerConfig())
        func job(_ id: Int, _ kind: SolverKind, _ steps: Int, guidance: Float) -> RenderJob {
            RenderJob(id: id, classLabel: id % 4, guidanceScale: guidance, solver: Solver(kind: kind, schedule: schedule, steps: steps),
                      seed: 42, stream: UInt64(id), sampleCount: 3 * 64)
        }
        let specs: [(SolverKind, Int, Float)] = [(.dpmpp2m, 6, 3), (.unipc, 4, 1), (.euler, 5, 2), (.deis, 7, 3), (.ddim, 3, 5)]
        // Alone.
        var alone: [Int: [Float]] = [:]
        for (id, spec) in specs.enumerated() {
            var batch = RenderBatch()
            batch.add(job(id, spec.0, spec.1, guidance: spec.2))
            var finished: [RenderJob] = []
            while !batch.isEmpty { finished += try batch.step(using: sampler) }
            alone[id] = finished[0].sample
        }
        // Together, joining at different steps, one cancelled half-way.
        var batch = RenderBatch()
        var finished: [RenderJob] = []
        var step = 0
        batch.add(job(99, .dpmpp3m, 8, guidance: 3))
        while !batch.isEmpty || step < specs.count {
            if step < specs.count { batch.add(job(step, specs[step].0, specs[step].1, guidance: specs[step].2)) }
            if step == 3 { XCTAssertTrue(batch.cancel(id: 99)) }
            finished += try batch.step(using: sampler)
            step += 1
        }
        XCTAssertEqual(Set(finished.map(\.id)), Set(0..<specs.count))
        for job in finished {
            XCTAssertLessThan(nmse(job.sample, alone[job.id]!), 1e-10, "job \(job.id)")
        }
    }

    func testMaxJobsPerStepServesTheLeastAdvancedFirst() throws {
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        let sampler = GuidedSampler(unet: unet, emptyClass: 4)
        let solver = Solver(kind: .ddim, schedule: NoiseSchedule(config: SchedulerConfig()), steps: 2)
        var batch = RenderBatch(maxJobsPerStep: 2)
        for id in 0..<3 { batch.add(RenderJob(id: id, classLabel: 0, guidanceScale: 1, solver: solver, seed: 1, stream: UInt64(id), sampleCount: 192)) }
        XCTAssertTrue(try batch.step(using: sampler).isEmpty)
        XCTAssertEqual(batch.jobs.map(\.stepsDone), [1, 1, 0])
        // Job 2 (no step yet) goes first, then job 0, which finishes.
        XCTAssertEqual(try batch.step(using: sampler).map(\.id), [0])
        XCTAssertEqual(batch.jobs.map(\.id), [1, 2])
        XCTAssertEqual(batch.jobs.map(\.stepsDone), [1, 1])
        XCTAssertEqual(try batch.step(using: sampler).map(\.id), [1, 2])
        XCTAssertTrue(batch.isEmpty)
    }

    func testNoiseIsKeyedBySeedAndStream() {
        let a = GaussianNoise.sample(seed: 7, stream: 0, count: 1000)
        XCTAssertEqual(a, GaussianNoise.sample(seed: 7, stream: 0, count: 1000))
        XCTAssertNotEqual(a, GaussianNoise.sample(seed: 7, stream: 1, count: 1000))
        XCTAssertNotEqual(a, GaussianNoise.sample(seed: 8, stream: 0, count: 1000))
        XCTAssertEqual(Array(a.prefix(10)), GaussianNoise.sample(seed: 7, stream: 0, count: 10))
        let mean = a.reduce(0, +) / 1000
        let variance = a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000
        XCTAssertEqual(mean, 0, accuracy: 0.1)
        XCTAssertEqual(variance, 1, accuracy: 0.15)
    }
}
