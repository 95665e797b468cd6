/// How the next token is chosen from the logits.
///
/// Order of application (as llama.cpp's default chain): repetition penalty → top-k →
/// temperature → top-p → min-p → draw. A temperature of 0 (or below) is greedy.
public struct SamplingParameters: Sendable, Equatable, Codable {
    public var temperature: Float = 0
    /// Keep the k most likely tokens (0: all).
    public var topK: Int = 0
    /// Keep the smallest set whose probability reaches p (1: all).
    public var topP: Float = 1
    /// Drop tokens less likely than minP × the most likely one's probability (0: none).
    public var minP: Float = 0
    /// Divides positive (multiplies negative) logits of recently seen tokens (1: off).
    public var repetitionPenalty: Float = 1
    /// How many of the last tokens the penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.repetitionWindow = repetitionWindow; self.seed = seed
    }

    public static let greedy = SamplingParameters()
}
