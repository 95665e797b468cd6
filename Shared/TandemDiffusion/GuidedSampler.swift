/// Classifier-free guidance over one batched UNet call.
///
/// Every request contributes its conditional and its empty-class pass to the same batch (2·n
/// samples, each with its own timestep), and gets back ε_u + g·(ε_c − ε_u). Requests at
/// different steps, of different solvers, share the call.
public struct GuidedSampler: Sendable {
    public struct Request: Sendable {
        public var sample: [Float]
        public var timestep: Double
        /// Multiplies the sample before the model sees it (Euler's `scale_model_input`).
        public var inputScale: Double
        public var classLabel: Int

        public init(sample: [Float], timestep: Double, inputScale: Double = 1, classLabel: Int) {
            self.sample = sample; self.timestep = timestep; self.inputScale = inputScale; self.classLabel = classLabel
        }
    }

    public let unet: UNet2DModel
    public let guidanceScale: Float
    public let emptyClass: Int

    public init(unet: UNet2DModel, guidanceScale: Float, emptyClass: Int) {
        self.unet = unet; self.guidanceScale = guidanceScale; self.emptyClass = emptyClass
    }

    /// The guided model output for each request. With guidance 1 only the conditional pass runs.
    public func modelOutputs(_ requests: [Request]) throws -> [[Float]] {
        guard !requests.isEmpty else { return [] }
        let per = requests[0].sample.count
        let unconditional = guidanceScale != 1
        var input: [Float] = [], timesteps: [Double] = [], labels: [Int] = []
        input.reserveCapacity(per * requests.count * 2)
        for pass in 0..<(unconditional ? 2 : 1) {
            for r in requests {
                let s = Float(r.inputScale)
                input.append(contentsOf: s == 1 ? r.sample : r.sample.map { $0 * s })
                timesteps.append(r.timestep)
                labels.append(pass == 0 ? r.classLabel : emptyClass)
            }
        }
        let out = try unet.forward(sample: input, batch: timesteps.count, timesteps: timesteps, classLabels: labels)
        let n = requests.count
        return (0..<n).map { i in
            let c = out[(i * per)..<((i + 1) * per)]
            guard unconditional else { return Array(c) }
            let u = out[((n + i) * per)..<((n + i + 1) * per)]
            return zip(c, u).map { $1 + guidanceScale * ($0 - $1) }
        }
    }
}
