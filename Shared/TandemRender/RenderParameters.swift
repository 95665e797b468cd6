import Foundation
import TandemDiffusion
import TandemService

/// The params of a `render` job (docs/diffusion.md, "The render service"):
/// `{"text": "TANDEM", "solver": "dpmpp-2m", "steps": 10, "guidance": 3, "seed": 0, "count": 1, "scale": 8}`.
/// Only `text` is required. Spaces are skipped; every other character must be a class of the model.
public struct RenderParameters: Sendable, Equatable {
    public var text: String
    public var solver: SolverKind
    public var steps: Int
    public var guidance: Float
    public var seed: UInt64
    /// Samples of the text, one row each.
    public var count: Int
    /// Pixels per model pixel in the PNG.
    public var scale: Int

    public static let maxCharacters = 64
    public static let maxImages = 256

    public init(text: String, solver: SolverKind = .dpmpp2m, steps: Int = 10, guidance: Float = 3, seed: UInt64 = 0, count: Int = 1, scale: Int = 8) {
        self.text = text
        self.solver = solver
        self.steps = steps
        self.guidance = guidance
        self.seed = seed
        self.count = count
        self.scale = scale
    }

    /// The characters to draw (spaces dropped).
    public var characters: [Character] { text.filter { $0 != " " }.map { $0 } }

    /// Reads and checks the JSON params; anything wrong is a non-retryable `invalid_params`.
    public init(json: String) throws {
        func invalid(_ why: String) -> JobFailure { JobFailure(code: "invalid_params", message: why, retryable: false) }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { throw invalid("params must be a JSON object") }
        guard let text = object["text"] as? String else { throw invalid("`text` (the characters to draw) is required") }
        self.init(text: text)
        if let name = object["solver"] {
            guard let name = name as? String, let kind = SolverKind(rawValue: name) else {
                throw invalid("unknown solver; one of \(SolverKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            solver = kind
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value as? Int, range.contains(number) else { throw invalid("`\(key)` must be an integer in \(range)") }
            return number
        }
        steps = try integer("steps", 1...1000) ?? steps
        count = try integer("count", 1...64) ?? count
        scale = try integer("scale", 1...32) ?? scale
        if let value = object["seed"] {
            guard let number = value as? Int, number >= 0 else { throw invalid("`seed` must be a non-negative integer") }
            seed = UInt64(number)
        }
        if let value = object["guidance"] {
            guard let number = value as? Double, number.isFinite, (0...50).contains(number) else { throw invalid("`guidance` must be a number in 0…50") }
            guidance = Float(number)
        }
        guard !characters.isEmpty else { throw invalid("`text` has nothing to draw") }
        guard characters.count <= Self.maxCharacters else { throw invalid("`text` has more than \(Self.maxCharacters) characters") }
        guard characters.count * count <= Self.maxImages else { throw invalid("at most \(Self.maxImages) glyphs per job (characters × count)") }
    }
}
