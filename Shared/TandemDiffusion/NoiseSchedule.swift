import Foundation

/// The training noise schedule: ᾱ(t) for t in 0..<numTrainTimesteps, computed exactly as diffusers
/// does it (float32 torch.linspace and 1 − β, torch.cumprod), and the timesteps each solver
/// family visits for a given step count under each spacing.
public struct NoiseSchedule: Sendable {
    public let config: SchedulerConfig
    public let alphasCumprod: [Float]

    public init(config: SchedulerConfig) {
        self.config = config
        let n = config.numTrainTimesteps
        var betas = [Float](repeating: 0, count: n)
        let start: Float, end: Float
        switch config.betaSchedule {
        case .linear: (start, end) = (Float(config.betaStart), Float(config.betaEnd))
        case .scaledLinear: (start, end) = (Float(config.betaStart.squareRoot()), Float(config.betaEnd.squareRoot()))
        }
        // torch.linspace's CPU kernel: from the start for the first half, from the end for the rest.
        let step = (end - start) / Float(n - 1)
        for i in 0..<n {
            betas[i] = i < n / 2 ? start + step * Float(i) : end - step * Float(n - 1 - i)
        }
        if config.betaSchedule == .scaledLinear { betas = betas.map { $0 * $0 } }
        // torch.cumprod on CPU accumulates float32 in double and rounds each partial product.
        var product: Double = 1
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
    }

    /// σ(t) = √((1 − ᾱ)/ᾱ) at an integer timestep, in float32 like diffusers' `sigmas` table.
    public func sigma(at t: Int) -> Float {
        let a = alphasCumprod[t]
        return ((1 - a) / a).squareRoot()
    }

    /// σ at a fractional timestep, interpolated linearly between the table's entries (np.interp).
    public func sigma(interpolatedAt t: Double) -> Double {
        let n = alphasCumprod.count
        if t <= 0 { return Double(sigma(at: 0)) }
        if t >= Double(n - 1) { return Double(sigma(at: n - 1)) }
        let lower = Int(t.rounded(.down)), frac = t - Double(lower)
        if frac == 0 { return Double(sigma(at: lower)) }
        let a = Double(sigma(at: lower)), b = Double(sigma(at: lower + 1))
        return a + (b - a) * frac
    }

    /// The timesteps of DDIM (`N` points, the last near 0) under the configured spacing.
    public func ddimTimesteps(steps: Int) -> [Double] {
        let t = config.numTrainTimesteps
        switch config.timestepSpacing {
        case .linspace:
            return Self.linspace(0, Double(t - 1), steps).map { $0.rounded(.toNearestOrEven) }.reversed()
        case .leading:
            let ratio = t / steps
            return (0..<steps).map { Double($0 * ratio + config.stepsOffset) }.reversed()
        case .trailing:
            return Self.trailing(t, steps)
        }
    }

    /// Euler's timesteps: like DDIM's, but `linspace` keeps fractional timesteps.
    public func eulerTimesteps(steps: Int) -> [Double] {
        let t = config.numTrainTimesteps
        if config.timestepSpacing == .linspace {
            return Self.linspace(0, Double(t - 1), steps).map { Double(Float($0)) }.reversed()
        }
        return ddimTimesteps(steps: steps)
    }

    /// The multistep solvers' timesteps (DPM-Solver++, UniPC, DEIS): N + 1 points with the last
    /// dropped, so no step lands exactly on 0.
    public func multistepTimesteps(steps: Int) -> [Double] {
        let t = config.numTrainTimesteps
        switch config.timestepSpacing {
        case .linspace:
            return Array(Self.linspace(0, Double(t - 1), steps + 1).map { $0.rounded(.toNearestOrEven) }.reversed().dropLast())
        case .leading:
            let ratio = t / (steps + 1)
            return Array((0...steps).map { Double($0 * ratio) }.reversed().dropLast()).map { $0 + Double(config.stepsOffset) }
        case .trailing:
            return Self.trailing(t, steps)
        }
    }

    /// Karras et al.'s σ spacing (diffusers' `use_karras_sigmas`): N σ evenly spaced in σ^(1/7)
    /// from σ(T−1) down to σ(0), each with the timestep the model sees, found by interpolating
    /// log σ in the training table and rounding (half to even, as np.round). σ stays in double here;
    /// diffusers stores it as float32, which the caller applies.
    public func karras(steps: Int) -> (timesteps: [Double], sigmas: [Double]) {
        let n = alphasCumprod.count, rho = 7.0
        let logSigmas = (0..<n).map { Foundation.log(sigma(at: $0)) }  // float32, like np.log of the float32 table
        let minInverse = Foundation.pow(Double(sigma(at: 0)), 1 / rho), maxInverse = Foundation.pow(Double(sigma(at: n - 1)), 1 / rho)
        let sigmas = Self.linspace(0, 1, steps).map { Foundation.pow(maxInverse + $0 * (minInverse - maxInverse), rho) }
        let timesteps = sigmas.map { sigma -> Double in
            // diffusers' _sigma_to_t: the last table entry at or below log σ (at most n − 2), then linear.
            let logSigma = Foundation.log(max(sigma, 1e-10))
            let low = min(logSigmas.lastIndex { Double($0) <= logSigma } ?? 0, n - 2)
            let w = min(max((Double(logSigmas[low]) - logSigma) / Double(logSigmas[low] - logSigmas[low + 1]), 0), 1)
            return ((1 - w) * Double(low) + w * Double(low + 1)).rounded(.toNearestOrEven)
        }
        return (timesteps, sigmas)
    }

    /// np.round(np.arange(T, 0, -T/N)) - 1.
    static func trailing(_ t: Int, _ steps: Int) -> [Double] {
        let ratio = Double(t) / Double(steps)
        return (0..<steps).map { i in (Double(t) - Double(i) * ratio).rounded(.toNearestOrEven) - 1 }
    }

    /// np.linspace(a, b, n).
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        if n == 1 { return [a] }
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { i in i == n - 1 ? b : a + Double(i) * step }
    }
}
