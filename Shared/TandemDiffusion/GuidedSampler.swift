/// Classifier-free guidance over one batched UNet call.
///
/// Every request contributes its conditional and its empty-class pass to the same batch (2·n
/// samples, each with its own timestep), and gets back ε_u + g·(ε_c − ε_u). Requests at
/// different steps, of different solvers, with different guidance scales share the call; a
/// request with guidance 1 needs no empty-class pass and gets none.
public struct GuidedSampler: Sendable {
    public struct Request: Sendable {
        public var sample: [Float]
        public var timestep: Double
        /// Multiplies the sample before the model sees it (Euler's `scale_model_input`).
        public var inputScale: Double
        public var classLabel: Int
        public var guidanceScale: Float

        public init(sample: [Float], timestep: Double, inputScale: Double = 1, classLabel: Int, guidanceScale: Float) {
            self.sample = sample; self.timestep = timestep; self.inputScale = inputScale
            self.classLabel = classLabel; self.guidanceScale = guidanceScale
        }
    }

    public let unet: UNet2DModel
    public let emptyClass: Int

    public init(unet: UNet2DModel, emptyClass: Int) {
        self.unet = unet; self.emptyClass = emptyClass
    }

    /// The guided model output for each request, from one UNet call.
    public func modelOutputs(_ requests: [Request]) throws -> [[Float]] {
        guard !requests.isEmpty else { return [] }
        let per = requests[0].sample.count
        var input: [Float] = [], timesteps: [Double] = [], labels: [Int] = []
        input.reserveCapacity(per * requests.count * 2)
        func add(_ r: Request, label: Int) {
            let s = Float(r.inputScale)
            input.append(contentsOf: s == 1 ? r.sample : r.sample.map { $0 * s })
            timesteps.append(r.timestep)
            labels.append(label)
        }
        for r in requests { add(r, label: r.classLabel) }
        var unconditionalRow: [Int?] = []
        for r in requests {
            if r.guidanceScale == 1 {
                unconditionalRow.append(nil)
            } else {
                unconditionalRow.append(timesteps.count)
                add(r, label: emptyClass)
            }
        }
        let out = try OpProfile.shared.measure(.unetCall) {
            try unet.forward(sample: input, batch: timesteps.count, timesteps: timesteps, classLabels: labels)
        }
        return requests.indices.map { i in
            let c = out[(i * per)..<((i + 1) * per)]
            guard let row = unconditionalRow[i] else { return Array(c) }
            let u = out[(row * per)..<((row + 1) * per)]
            let g = requests[i].guidanceScale
            return zip(c, u).map { $1 + g * ($0 - $1) }
        }
    }
}
