import Foundation

/// How the model's output is read: the noise (`epsilon`) or the velocity (`v_prediction`).
public enum PredictionType: String, Sendable, CaseIterable {
    case epsilon
    case vPrediction = "v_prediction"
}

/// diffusers' `timestep_spacing`: which training timesteps a run of N steps visits.
public enum TimestepSpacing: String, Sendable, CaseIterable {
    case leading, linspace, trailing
}

/// A diffusers `scheduler_config.json`: the training noise schedule and how to read the model.
///
/// Only what Tandem implements is accepted: `linear` and `scaled_linear` betas, epsilon and
/// v prediction, and the three spacings; anything else is refused with the key named.
public struct SchedulerConfig: Sendable, Equatable {
    public enum BetaSchedule: String, Sendable { case linear, scaledLinear = "scaled_linear" }

    public var numTrainTimesteps: Int = 1000
    public var betaStart: Double = 0.0001
    public var betaEnd: Double = 0.02
    public var betaSchedule: BetaSchedule = .linear
    public var predictionType: PredictionType = .epsilon
    public var timestepSpacing: TimestepSpacing = .trailing
    public var stepsOffset: Int = 0
    /// DDIM only: clamp the predicted clean sample to ±`clipSampleRange`.
    public var clipSample: Bool = false
    public var clipSampleRange: Double = 1
    /// DDIM only: the step after the last goes to ᾱ = 1 (true) or to ᾱ(0).
    public var setAlphaToOne: Bool = true

    public init(predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing = .trailing) {
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
    }

    public init(contentsOf url: URL) throws {
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw SchedulerConfigError.unsupported(key: "(root)", value: "not a JSON object")
        }
        try self.init(json: json)
    }

    public init(json: [String: Any]) throws {
        func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
        if let n = json["num_train_timesteps"] as? Int { numTrainTimesteps = n }
        if let v = number("beta_start") { betaStart = v }
        if let v = number("beta_end") { betaEnd = v }
        if let v = json["steps_offset"] as? Int { stepsOffset = v }
        if let v = json["clip_sample"] as? Bool { clipSample = v }
        if let v = number("clip_sample_range") { clipSampleRange = v }
        if let v = json["set_alpha_to_one"] as? Bool { setAlphaToOne = v }
        if let raw = json["beta_schedule"] as? String {
            guard let v = BetaSchedule(rawValue: raw) else { throw SchedulerConfigError.unsupported(key: "beta_schedule", value: raw) }
            betaSchedule = v
        }
        if let raw = json["prediction_type"] as? String {
            guard let v = PredictionType(rawValue: raw) else { throw SchedulerConfigError.unsupported(key: "prediction_type", value: raw) }
            predictionType = v
        }
        if let raw = json["timestep_spacing"] as? String {
            guard let v = TimestepSpacing(rawValue: raw) else { throw SchedulerConfigError.unsupported(key: "timestep_spacing", value: raw) }
            timestepSpacing = v
        }
        if let betas = json["trained_betas"], !(betas is NSNull) {
            throw SchedulerConfigError.unsupported(key: "trained_betas", value: "a list")
        }
        if json["rescale_betas_zero_snr"] as? Bool == true {
            throw SchedulerConfigError.unsupported(key: "rescale_betas_zero_snr", value: "true")
        }
        if json["thresholding"] as? Bool == true {
            throw SchedulerConfigError.unsupported(key: "thresholding", value: "true")
        }
        guard numTrainTimesteps >= 2 else { throw SchedulerConfigError.unsupported(key: "num_train_timesteps", value: "\(numTrainTimesteps)") }
    }
}

public enum SchedulerConfigError: Error, Equatable, CustomStringConvertible {
    case unsupported(key: String, value: String)

    public var description: String {
        switch self {
        case .unsupported(let key, let value): "scheduler config: \(key) = \(value) is not supported"
        }
    }
}
