import Foundation

/// A sampling plan (one solver, one step count) and its step function.
///
/// `step` is pure: it takes the state, the (guided) model output and the current sample and
/// returns the new state and sample, so samples at different steps of different solvers can be
/// advanced side by side after one batched UNet call. The arithmetic follows diffusers'
/// schedulers (DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler with
/// `dpmsolver++`, UniPCMultistepScheduler with `bh2`, DEISMultistepScheduler) with their default
/// options: `lower_order_final`, `final_sigmas_type="zero"` (DEIS: σ_min), η = 0; `dpmpp-2m-karras`
/// is DPMSolverMultistepScheduler with `use_karras_sigmas=True`.
///
///     let solver = Solver(kind: .dpmpp2m, schedule: schedule, steps: 10)
///     var x = noise.map { $0 * solver.initialNoiseScale }, state = SolverState()
///     for i in 0..<solver.steps {
///         let out = model(x.map { $0 * solver.modelInputScale(at: i) }, solver.timesteps[i])
///         (state, x) = solver.step(state, modelOutput: out, sample: x)
///     }
public struct Solver: Sendable {
    public let kind: SolverKind
    public let schedule: NoiseSchedule
    public let steps: Int
    /// The timestep given to the model at each step.
    public let timesteps: [Double]
    /// σ at each step and one past the last (Euler and the multistep solvers).
    public let sigmas: [Double]
    public let predictionType: PredictionType

    public init(kind: SolverKind, schedule: NoiseSchedule, steps: Int) {
        precondition(steps >= 1 && steps <= schedule.config.numTrainTimesteps, "steps out of range")
        self.kind = kind
        self.schedule = schedule
        self.steps = steps
        self.predictionType = schedule.config.predictionType
        switch kind {
        case .ddim:
            timesteps = schedule.ddimTimesteps(steps: steps)
            sigmas = []
        case .euler:
            timesteps = schedule.eulerTimesteps(steps: steps)
            sigmas = timesteps.map { Double(Float(schedule.sigma(interpolatedAt: $0))) } + [0]
        case .dpmpp2mKarras:
            let plan = schedule.karras(steps: steps)
            timesteps = plan.timesteps
            sigmas = plan.sigmas.map { Double(Float($0)) } + [0]
        case .dpmpp2m, .dpmpp3m, .unipc, .deis:
            timesteps = schedule.multistepTimesteps(steps: steps)
            let last = kind == .deis ? Double(schedule.sigma(at: 0)) : 0
            sigmas = timesteps.map { Double(Float(schedule.sigma(interpolatedAt: $0))) } + [last]
        }
    }

    /// The scale of the initial Gaussian noise (diffusers' `init_noise_sigma`).
    public var initialNoiseScale: Double {
        guard kind == .euler else { return 1 }
        let maxSigma = sigmas.max() ?? 1
        switch schedule.config.timestepSpacing {
        case .linspace, .trailing: return maxSigma
        case .leading: return (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    /// The factor the sample is multiplied by before it goes into the model (`scale_model_input`).
    public func modelInputScale(at step: Int) -> Double {
        guard kind == .euler else { return 1 }
        return 1 / (sigmas[step] * sigmas[step] + 1).squareRoot()
    }

    public func step(_ state: SolverState, modelOutput: [Float], sample: [Float]) -> (state: SolverState, sample: [Float]) {
        precondition(modelOutput.count == sample.count && state.stepIndex < steps, "solver stepped past its plan")
        switch kind {
        case .ddim: return ddimStep(state, modelOutput, sample)
        case .euler: return eulerStep(state, modelOutput, sample)
        case .dpmpp2m, .dpmpp3m, .dpmpp2mKarras: return dpmStep(state, modelOutput, sample)
        case .unipc: return unipcStep(state, modelOutput, sample)
        case .deis: return deisStep(state, modelOutput, sample)
        }
    }

    // MARK: - shared pieces

    /// (α_t, σ_t) of the VP process from the VE σ.
    static func alphaSigma(_ sigma: Double) -> (alpha: Double, sigma: Double) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    static func lambda(_ sigma: Double) -> Double {
        let (a, s) = alphaSigma(sigma)
        return Foundation.log(a) - Foundation.log(s)
    }

    /// The data prediction x̂₀ at step `index` from the raw model output.
    func predictedSample(_ output: [Float], _ x: [Float], sigma: Double) -> [Float] {
        let (a, s) = Self.alphaSigma(sigma)
        switch predictionType {
        case .epsilon:
            let ia = Float(1 / a), fs = Float(s)
            return zip(x, output).map { ($0 - fs * $1) * ia }
        case .vPrediction:
            let fa = Float(a), fs = Float(s)
            return zip(x, output).map { fa * $0 - fs * $1 }
        }
    }

    /// Σ cᵢ · vᵢ.
    static func combine(_ terms: [(Double, [Float])]) -> [Float] {
        var out = [Float](repeating: 0, count: terms[0].1.count)
        for (c, v) in terms {
            let fc = Float(c)
            for i in out.indices { out[i] += fc * v[i] }
        }
        return out
    }

    // MARK: - DDIM (η = 0)

    func ddimStep(_ state: SolverState, _ output: [Float], _ x: [Float]) -> (state: SolverState, sample: [Float]) {
        let config = schedule.config
        let t = Int(timesteps[state.stepIndex])
        let previous = t - config.numTrainTimesteps / steps
        let alphaT = Double(schedule.alphasCumprod[t])
        let alphaPrev = previous >= 0 ? Double(schedule.alphasCumprod[previous]) : (config.setAlphaToOne ? 1 : Double(schedule.alphasCumprod[0]))
        let sa = alphaT.squareRoot(), sb = (1 - alphaT).squareRoot()
        var x0: [Float], eps: [Float]
        switch predictionType {
        case .epsilon:
            x0 = Self.combine([(1 / sa, x), (-sb / sa, output)])
            eps = output
        case .vPrediction:
            x0 = Self.combine([(sa, x), (-sb, output)])
            eps = Self.combine([(sa, output), (sb, x)])
        }
        if config.clipSample {
            let r = Float(config.clipSampleRange)
            x0 = x0.map { min(max($0, -r), r) }
            eps = Self.combine([(1 / sb, x), (-sa / sb, x0)])
        }
        var next = state
        next.stepIndex += 1
        return (next, Self.combine([(alphaPrev.squareRoot(), x0), ((1 - alphaPrev).squareRoot(), eps)]))
    }

    // MARK: - Euler

    func eulerStep(_ state: SolverState, _ output: [Float], _ x: [Float]) -> (state: SolverState, sample: [Float]) {
        let i = state.stepIndex
        let sigma = sigmas[i], dt = sigmas[i + 1] - sigma
        let x0: [Float]
        switch predictionType {
        case .epsilon: x0 = Self.combine([(1, x), (-sigma, output)])
        case .vPrediction: x0 = Self.combine([(-sigma / (sigma * sigma + 1).squareRoot(), output), (1 / (sigma * sigma + 1), x)])
        }
        // x + (x − x̂₀)/σ · dt
        var next = state
        next.stepIndex += 1
        return (next, Self.combine([(1 + dt / sigma, x), (-dt / sigma, x0)]))
    }

    // MARK: - DPM-Solver++ (2M, 3M)

    func dpmStep(_ state: SolverState, _ output: [Float], _ x: [Float]) -> (state: SolverState, sample: [Float]) {
        let i = state.stepIndex, order = kind.order
        let lowerOrderFinal = i == steps - 1  // final σ is zero: always first order there
        let lowerOrderSecond = i == steps - 2 && steps < 15
        let m0 = predictedSample(output, x, sigma: sigmas[i])
        var next = state
        next.modelOutputs = Array((state.modelOutputs + [m0]).suffix(order))
        let (alphaT, sigmaT) = Self.alphaSigma(sigmas[i + 1])
        let (_, sigmaS0) = Self.alphaSigma(sigmas[i])
        let h = Self.lambda(sigmas[i + 1]) - Self.lambda(sigmas[i])
        let phi = Foundation.exp(-h) - 1  // e^{−h} − 1
        let out: [Float]
        if order == 1 || state.lowerOrderCount < 1 || lowerOrderFinal {
            out = Self.combine([(sigmaT / sigmaS0, x), (-alphaT * phi, m0)])
        } else if order == 2 || state.lowerOrderCount < 2 || lowerOrderSecond {
            let m1 = next.modelOutputs[next.modelOutputs.count - 2]
            let h0 = Self.lambda(sigmas[i]) - Self.lambda(sigmas[i - 1])
            let r0 = h0 / h
            // D1 = (m0 − m1)/r0; midpoint: −½ α_t (e^{−h} − 1) D1
            out = Self.combine([(sigmaT / sigmaS0, x), (-alphaT * phi, m0),
                                (-0.5 * alphaT * phi / r0, m0), (0.5 * alphaT * phi / r0, m1)])
        } else {
            let count = next.modelOutputs.count
            let m1 = next.modelOutputs[count - 2], m2 = next.modelOutputs[count - 3]
            let h0 = Self.lambda(sigmas[i]) - Self.lambda(sigmas[i - 1])
            let h1 = Self.lambda(sigmas[i - 1]) - Self.lambda(sigmas[i - 2])
            let r0 = h0 / h, r1 = h1 / h
            // D1_0 = (m0 − m1)/r0, D1_1 = (m1 − m2)/r1
            // D1 = D1_0 + r0/(r0+r1)·(D1_0 − D1_1), D2 = (D1_0 − D1_1)/(r0+r1)
            let c1 = alphaT * (phi / h + 1), c2 = -alphaT * ((phi + h) / (h * h) - 0.5)
            let d10 = [(1 / r0, m0), (-1 / r0, m1)], d11 = [(1 / r1, m1), (-1 / r1, m2)]
            let k = r0 / (r0 + r1), l = 1 / (r0 + r1)
            var terms: [(Double, [Float])] = [(sigmaT / sigmaS0, x), (-alphaT * phi, m0)]
            for (c, v) in d10 { terms.append((c1 * (1 + k) * c + c2 * l * c, v)) }
            for (c, v) in d11 { terms.append((-c1 * k * c - c2 * l * c, v)) }
            out = Self.combine(terms)
        }
        next.lowerOrderCount = min(order, state.lowerOrderCount + 1)
        next.stepIndex += 1
        return (next, out)
    }

    // MARK: - UniPC (bh2, predicting x₀)

    /// The B(h)-weighted coefficients of UniPC for `order` and the ratios `rks` (last entry 1).
    static func unipcCoefficients(h: Double, rks: [Double], order: Int) -> (R: [[Double]], b: [Double], hPhi1: Double, bh: Double) {
        let hh = -h
        let hPhi1 = Foundation.expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        var factorial = 1.0
        let bh = Foundation.expm1(hh)
        var R: [[Double]] = [], b: [Double] = []
        for i in 1...order {
            R.append(rks.map { Foundation.pow($0, Double(i - 1)) })
            b.append(hPhiK * factorial / bh)
            factorial *= Double(i + 1)
            hPhiK = hPhiK / hh - 1 / factorial
        }
        return (R, b, hPhi1, bh)
    }

    func unipcStep(_ state: SolverState, _ output: [Float], _ rawSample: [Float]) -> (state: SolverState, sample: [Float]) {
        let i = state.stepIndex, order = kind.order
        let converted = predictedSample(output, rawSample, sigma: sigmas[i])
        var x = rawSample
        // Corrector: refine the sample the last predictor produced, using this step's output.
        if i > 0, let last = state.lastSample {
            let p = state.lastOrder
            let history = state.modelOutputs
            let m0 = history[history.count - 1]
            let (alphaT, sigmaT) = Self.alphaSigma(sigmas[i])
            let (_, sigmaS0) = Self.alphaSigma(sigmas[i - 1])
            let lambdaS0 = Self.lambda(sigmas[i - 1])
            let h = Self.lambda(sigmas[i]) - lambdaS0
            var rks: [Double] = [], d1s: [(Double, [Float], [Float])] = []
            for k in 1..<max(p, 1) {
                let rk = (Self.lambda(sigmas[i - (k + 1)]) - lambdaS0) / h
                rks.append(rk)
                d1s.append((rk, history[history.count - (k + 1)], m0))
            }
            rks.append(1)
            let (R, b, hPhi1, bh) = Self.unipcCoefficients(h: h, rks: rks, order: p)
            let rhos = p == 1 ? [0.5] : Self.solve(R, b)
            var terms: [(Double, [Float])] = [(sigmaT / sigmaS0, last), (-alphaT * hPhi1, m0)]
            for (k, (rk, mi, m0)) in d1s.enumerated() {
                terms.append((-alphaT * bh * rhos[k] / rk, mi)); terms.append((alphaT * bh * rhos[k] / rk, m0))
            }
            let rhoT = rhos[rhos.count - 1]
            terms.append((-alphaT * bh * rhoT, converted)); terms.append((alphaT * bh * rhoT, m0))
            x = Self.combine(terms)
        }
        var next = state
        next.modelOutputs = Array((state.modelOutputs + [converted]).suffix(order))
        let p = min(min(order, steps - i), state.lowerOrderCount + 1)
        next.lastOrder = p
        next.lastSample = x
        // Predictor.
        let history = next.modelOutputs
        let m0 = converted
        let (alphaT, sigmaT) = Self.alphaSigma(sigmas[i + 1])
        let (_, sigmaS0) = Self.alphaSigma(sigmas[i])
        let lambdaS0 = Self.lambda(sigmas[i])
        let h = Self.lambda(sigmas[i + 1]) - lambdaS0
        var rks: [Double] = [], d1s: [(Double, [Float])] = []
        for k in 1..<max(p, 1) {
            let rk = (Self.lambda(sigmas[i - k]) - lambdaS0) / h
            rks.append(rk)
            d1s.append((rk, history[history.count - (k + 1)]))
        }
        rks.append(1)
        let (R, b, hPhi1, bh) = Self.unipcCoefficients(h: h, rks: rks, order: p)
        var terms: [(Double, [Float])] = [(sigmaT / sigmaS0, x), (-alphaT * hPhi1, m0)]
        if !d1s.isEmpty {
            let rhos = p == 2 ? [0.5] : Self.solve(Array(R.dropLast().map { Array($0.dropLast()) }), Array(b.dropLast()))
            for (k, (rk, mi)) in d1s.enumerated() {
                terms.append((-alphaT * bh * rhos[k] / rk, mi)); terms.append((alphaT * bh * rhos[k] / rk, m0))
            }
        }
        next.lowerOrderCount = min(order, state.lowerOrderCount + 1)
        next.stepIndex += 1
        return (next, Self.combine(terms))
    }

    /// Solves the small dense system A·x = b by Gaussian elimination with partial pivoting.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var m = a, y = b
        let n = y.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            m.swapAt(col, pivot); y.swapAt(col, pivot)
            for row in (col + 1)..<max(col + 1, n) {
                let f = m[row][col] / m[col][col]
                for k in col..<n { m[row][k] -= f * m[col][k] }
                y[row] -= f * y[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = y[row]
            for k in (row + 1)..<max(row + 1, n) { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x
    }

    // MARK: - DEIS (log-ρ, noise prediction)

    func deisStep(_ state: SolverState, _ output: [Float], _ x: [Float]) -> (state: SolverState, sample: [Float]) {
        let i = state.stepIndex, order = kind.order
        let lowerOrderFinal = i == steps - 1 && steps < 15
        let lowerOrderSecond = i == steps - 2 && steps < 15
        let (alphaS0, sigmaS0) = Self.alphaSigma(sigmas[i])
        // DEIS integrates the noise prediction: ε = (x − α x̂₀)/σ.
        let x0 = predictedSample(output, x, sigma: sigmas[i])
        let eps = Self.combine([(1 / sigmaS0, x), (-alphaS0 / sigmaS0, x0)])
        var next = state
        next.modelOutputs = Array((state.modelOutputs + [eps]).suffix(order))
        let (alphaT, sigmaT) = Self.alphaSigma(sigmas[i + 1])
        let out: [Float]
        if order == 1 || state.lowerOrderCount < 1 || lowerOrderFinal {
            let h = Self.lambda(sigmas[i + 1]) - Self.lambda(sigmas[i])
            out = Self.combine([(alphaT / alphaS0, x), (-sigmaT * Foundation.expm1(h), eps)])
        } else if order == 2 || state.lowerOrderCount < 2 || lowerOrderSecond {
            let m1 = next.modelOutputs[next.modelOutputs.count - 2]
            let rhoT = sigmas[i + 1], rhoS0 = sigmas[i], rhoS1 = sigmas[i - 1]
            func ind(_ t: Double, _ b: Double, _ c: Double) -> Double {
                t * (-Foundation.log(c) + Foundation.log(t) - 1) / (Foundation.log(b) - Foundation.log(c))
            }
            let c1 = ind(rhoT, rhoS0, rhoS1) - ind(rhoS0, rhoS0, rhoS1)
            let c2 = ind(rhoT, rhoS1, rhoS0) - ind(rhoS0, rhoS1, rhoS0)
            out = Self.combine([(alphaT / alphaS0, x), (alphaT * c1, eps), (alphaT * c2, m1)])
        } else {
            let count = next.modelOutputs.count
            let m1 = next.modelOutputs[count - 2], m2 = next.modelOutputs[count - 3]
            let rhoT = sigmas[i + 1], rhoS0 = sigmas[i], rhoS1 = sigmas[i - 1], rhoS2 = sigmas[i - 2]
            func ind(_ t: Double, _ b: Double, _ c: Double, _ d: Double) -> Double {
                let lt = Foundation.log(t), lb = Foundation.log(b), lc = Foundation.log(c), ld = Foundation.log(d)
                let numerator = t * (lc * (ld - lt + 1) - ld * lt + ld + lt * lt - 2 * lt + 2)
                return numerator / ((lb - lc) * (lb - ld))
            }
            let c1 = ind(rhoT, rhoS0, rhoS1, rhoS2) - ind(rhoS0, rhoS0, rhoS1, rhoS2)
            let c2 = ind(rhoT, rhoS1, rhoS2, rhoS0) - ind(rhoS0, rhoS1, rhoS2, rhoS0)
            let c3 = ind(rhoT, rhoS2, rhoS0, rhoS1) - ind(rhoS0, rhoS2, rhoS0, rhoS1)
            out = Self.combine([(alphaT / alphaS0, x), (alphaT * c1, eps), (alphaT * c2, m1), (alphaT * c3, m2)])
        }
        next.lowerOrderCount = min(order, state.lowerOrderCount + 1)
        next.stepIndex += 1
        return (next, out)
    }
}
