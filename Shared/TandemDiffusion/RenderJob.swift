/// One image being rendered: its class, guidance, solver plan, solver state and current sample.
public struct RenderJob: Sendable {
    public let id: Int
    public let classLabel: Int
    public let guidanceScale: Float
    public let solver: Solver
    public var state: SolverState
    public var sample: [Float]

    /// Starts from counter-based noise for (seed, stream), scaled as the solver wants.
    public init(id: Int, classLabel: Int, guidanceScale: Float, solver: Solver, seed: UInt64, stream: UInt64, sampleCount: Int) {
        self.id = id
        self.classLabel = classLabel
        self.guidanceScale = guidanceScale
        self.solver = solver
        self.state = SolverState()
        let scale = Float(solver.initialNoiseScale)
        self.sample = GaussianNoise.sample(seed: seed, stream: stream, count: sampleCount).map { $0 * scale }
    }

    public var stepsDone: Int { state.stepIndex }
    public var isFinished: Bool { state.stepIndex >= solver.steps }
}
