import Foundation
import TandemDiffusion
import XCTest

/// Timesteps, σ tables and every solver step against diffusers' schedulers.
final class SolverParityTests: XCTestCase {
    static let fixtureNames: [String: SolverKind] = [
        "ddim": .ddim, "euler": .euler, "dpmpp2m": .dpmpp2m, "dpmpp3m": .dpmpp3m, "unipc": .unipc, "deis": .deis,
        "dpmpp2m-karras": .dpmpp2mKarras,
    ]

    func testTimestepsAndSigmasMatchDiffusersForEverySpacing() throws {
        let table = try Fixtures.json("timesteps.json") as! [String: [String: Any]]
        XCTAssertGreaterThan(table.count, 200)
        for (key, entry) in table {
            let parts = key.split(separator: "/").map(String.init)
            let kind = Self.fixtureNames[parts[0]]!, spacing = TimestepSpacing(rawValue: parts[1])!, steps = Int(parts[2])!
            let schedule = NoiseSchedule(config: SchedulerConfig(timestepSpacing: spacing))
            let solver = Solver(kind: kind, schedule: schedule, steps: steps)
            let expected = (entry["timesteps"] as! [NSNumber]).map(\.doubleValue)
            XCTAssertEqual(solver.timesteps.count, expected.count, key)
            for (a, b) in zip(solver.timesteps, expected) { XCTAssertEqual(a, b, accuracy: 1e-3, key) }
            if let sigmas = entry["sigmas"] as? [NSNumber] {
                XCTAssertEqual(solver.sigmas.count, sigmas.count, key)
                for (a, b) in zip(solver.sigmas, sigmas.map(\.doubleValue)) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, b), key) }
            }
            XCTAssertEqual(solver.initialNoiseScale, (entry["init_noise_sigma"] as! NSNumber).doubleValue, accuracy: 1e-4, key)
        }
    }

    /// Karras σ (tools/karras_fixtures.py): σ from the ρ = 7 ramp, timesteps by log-σ interpolation.
    func testKarrasTimestepsAndSigmasMatchDiffusers() throws {
        let table = try Fixtures.json("karras_timesteps.json") as! [String: [String: [NSNumber]]]
        XCTAssertEqual(table.count, 13)
        for (key, entry) in table {
            let solver = Solver(kind: .dpmpp2mKarras, schedule: NoiseSchedule(config: SchedulerConfig()), steps: Int(key)!)
            XCTAssertEqual(solver.timesteps, entry["timesteps"]!.map(\.doubleValue), "\(key) steps")
            let sigmas = entry["sigmas"]!.map(\.doubleValue)
            XCTAssertEqual(solver.sigmas.count, sigmas.count, "\(key) steps")
            for (a, b) in zip(solver.sigmas, sigmas) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, b), "\(key) steps") }
        }
    }

    /// Every step of DPM-Solver++ 2M Karras fed diffusers' inputs, and whole guided loops on the Swift UNet.
    func testKarrasStepsAndGuidedLoopsMatchDiffusers() throws {
        let (cases, noise) = try loadCases(index: "karras_cases.json", tensors: "karras_cases.safetensors")
        XCTAssertEqual(cases.count, 4)
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        var worstStep = 0.0, worstFinal = 0.0
        for c in cases {
            let solver = Solver(kind: c.kind, schedule: NoiseSchedule(config: SchedulerConfig(predictionType: c.prediction)), steps: c.steps)
            var state = SolverState(), worst = 0.0
            for i in 0..<c.steps {
                let (next, sample) = solver.step(state, modelOutput: c.outputs[i], sample: c.samples[i])
                state = next
                worst = max(worst, nmse(sample, c.samples[i + 1]))
            }
            XCTAssertLessThan(worst, 1e-9, c.name)
            let guided = GuidedSampler(unet: unet, emptyClass: 4)
            var x = noise
            state = SolverState()
            for i in 0..<c.steps {
                let out = try guided.modelOutputs([.init(sample: x, timestep: solver.timesteps[i], classLabel: 1, guidanceScale: 3)])
                (state, x) = solver.step(state, modelOutput: out[0], sample: x)
            }
            XCTAssertLessThan(nmse(x, c.samples[c.steps]), 1e-8, c.name)
            worstStep = max(worstStep, worst)
            worstFinal = max(worstFinal, nmse(x, c.samples[c.steps]))
        }
        print("DPM-Solver++ 2M Karras vs diffusers: worst per-step NMSE \(worstStep), worst final NMSE of a guided loop \(worstFinal)")
    }

    struct Case {
        let name: String, kind: SolverKind, spacing: TimestepSpacing, prediction: PredictionType, steps: Int
        let samples: [[Float]], outputs: [[Float]]
    }

    func loadCases(index indexName: String = "solver_cases.json", tensors: String = "solver_cases.safetensors") throws -> (cases: [Case], noise: [Float]) {
        let index = try Fixtures.json(indexName) as! [String: Any]
        let file = try SafetensorsFile(contentsOf: Fixtures.url(tensors))
        var cases: [Case] = []
        for entry in index["cases"] as! [[String: Any]] {
            let name = entry["name"] as! String, steps = entry["steps"] as! Int
            let samples = try file.tensor(name + "/samples"), outputs = try file.tensor(name + "/model_outputs")
            let width = samples.shape[1]
            cases.append(Case(name: name, kind: Self.fixtureNames[entry["solver"] as! String]!,
                              spacing: TimestepSpacing(rawValue: entry["spacing"] as! String)!,
                              prediction: PredictionType(rawValue: entry["prediction"] as! String)!, steps: steps,
                              samples: (0...steps).map { Array(samples.values[($0 * width)..<(($0 + 1) * width)]) },
                              outputs: (0..<steps).map { Array(outputs.values[($0 * width)..<(($0 + 1) * width)]) }))
        }
        return (cases, try file.tensor("noise").values)
    }

    /// Each step fed diffusers' own sample and guided model output must give diffusers' next sample.
    func testEveryStepMatchesDiffusers() throws {
        let (cases, _) = try loadCases()
        XCTAssertEqual(cases.count, 36)
        var worstOverall = 0.0
        for c in cases {
            let schedule = NoiseSchedule(config: SchedulerConfig(predictionType: c.prediction, timestepSpacing: c.spacing))
            let solver = Solver(kind: c.kind, schedule: schedule, steps: c.steps)
            var state = SolverState()
            var worst = 0.0
            for i in 0..<c.steps {
                let (next, sample) = solver.step(state, modelOutput: c.outputs[i], sample: c.samples[i])
                state = next
                worst = max(worst, nmse(sample, c.samples[i + 1]))
            }
            XCTAssertLessThan(worst, 1e-9, c.name)
            worstOverall = max(worstOverall, worst)
        }
        print("solver steps vs diffusers: worst per-step NMSE \(worstOverall) over \(cases.count) cases")
    }

    /// The whole loop on the Swift UNet from diffusers' initial noise lands on diffusers' result.
    func testGuidedSamplingWithTheSwiftUNetMatchesDiffusers() throws {
        let (cases, noise) = try loadCases()
        let unet = try UNet2DModel(directory: Fixtures.url("tiny_unet"))
        var worst = 0.0
        for c in cases where c.spacing == .trailing && c.prediction == .epsilon && c.steps == 10 || c.prediction == .vPrediction {
            let schedule = NoiseSchedule(config: SchedulerConfig(predictionType: c.prediction, timestepSpacing: c.spacing))
            let solver = Solver(kind: c.kind, schedule: schedule, steps: c.steps)
            let guided = GuidedSampler(unet: unet, emptyClass: 4)
            var x = noise.map { $0 * Float(solver.initialNoiseScale) }
            var state = SolverState()
            for i in 0..<c.steps {
                let out = try guided.modelOutputs([.init(sample: x, timestep: solver.timesteps[i], inputScale: solver.modelInputScale(at: i), classLabel: 1, guidanceScale: 3)])
                (state, x) = solver.step(state, modelOutput: out[0], sample: x)
            }
            XCTAssertLessThan(nmse(x, c.samples[c.steps]), 1e-8, c.name)
            worst = max(worst, nmse(x, c.samples[c.steps]))
        }
        print("guided loops on the Swift UNet vs diffusers: worst final NMSE \(worst)")
    }
}
