import Foundation

/// Readability of renders by solver, steps and guidance: `perClass` renders of each of the 36
/// glyph classes with fixed seeds (image i gets the same initial noise under every setting),
/// read back by `NearestGlyphClassifier`.
///
///     let evaluation = ReadabilityEvaluation(renderer: renderer, classifier: classifier, perClass: 10, seed: 1)
///     let reference = try evaluation.run(.init(solver: .ddim, steps: 50, guidance: 3))
///     let fast = try evaluation.run(.init(solver: .unipc, steps: 10, guidance: 3))
///     print(fast.accuracy.interval95, PairedProportionDifference(fast.correct, reference.correct).interval95)
public struct ReadabilityEvaluation: Sendable {
    public struct Setting: Sendable, Equatable, CustomStringConvertible {
        public let solver: SolverKind
        public let steps: Int
        public let guidance: Float

        public init(solver: SolverKind, steps: Int, guidance: Float) {
            self.solver = solver; self.steps = steps; self.guidance = guidance
        }

        public var description: String { String(format: "%@, %d steps, guidance %g", solver.rawValue, steps, guidance) }
    }

    public struct Result: Sendable {
        public let setting: Setting
        /// One entry per render, in class-major order: was it read as its class?
        public let correct: [Bool]
        public let seconds: Double

        public var accuracy: ProportionEstimate { ProportionEstimate(successes: correct.filter { $0 }.count, trials: correct.count) }
    }

    public let renderer: GlyphRenderer
    public let classifier: NearestGlyphClassifier
    public let perClass: Int
    public let seed: UInt64

    public init(renderer: GlyphRenderer, classifier: NearestGlyphClassifier, perClass: Int, seed: UInt64) {
        self.renderer = renderer; self.classifier = classifier; self.perClass = perClass; self.seed = seed
    }

    public func run(_ setting: Setting) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let images = try renderer.render(GlyphRenderer.characters,
                                         options: .init(solver: setting.solver, steps: setting.steps, guidance: setting.guidance, seed: seed, count: perClass))
        var correct: [Bool] = []
        for (label, renders) in images.enumerated() { correct += renders.map { classifier.classify($0) == label } }
        return Result(setting: setting, correct: correct, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
