/// What a solver carries from one step to the next for one sample: the step index, its recent
/// converted model outputs (most recent last) and, for UniPC, the sample before the last
/// predictor step. Plain data, so a checkpoint can store it and a batch can hold one per request.
public struct SolverState: Sendable, Equatable {
    public var stepIndex: Int = 0
    public var modelOutputs: [[Float]] = []
    public var lowerOrderCount: Int = 0
    public var lastSample: [Float]? = nil
    public var lastOrder: Int = 0

    public init() {}
}
