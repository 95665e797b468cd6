import Foundation

/// Renders glyphs with a class-conditional diffusion model whose classes are characters:
/// (character, solver, steps, guidance, seed, count) → RGB images → PNG bytes.
///
///     let renderer = try GlyphRenderer()                       // the committed glyphs16 model
///     let images = try renderer.render("A", options: .init(solver: .dpmpp2m, steps: 10, guidance: 3, seed: 7, count: 4))
///     let png = try PNGCodec.encode(RGBImage.row(images).scaled(by: 8))
public struct GlyphRenderer: Sendable {
    public struct Options: Sendable {
        public var solver: SolverKind
        public var steps: Int
        public var guidance: Float
        public var seed: UInt64
        public var count: Int

        public init(solver: SolverKind = .dpmpp2m, steps: Int = 10, guidance: Float = 3, seed: UInt64 = 0, count: Int = 1) {
            self.solver = solver; self.steps = steps; self.guidance = guidance; self.seed = seed; self.count = count
        }
    }

    /// The characters of the classes, in class order; the class after the last is the empty one.
    public static let characters: [Character] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    public var unet: UNet2DModel
    public let schedule: NoiseSchedule
    public let emptyClass: Int

    /// The model committed with Tandem (trained by tools/train_glyphs.py): `$TANDEM_GLYPH_MODEL`,
    /// else the resource bundle beside the executable, else the source tree. `Bundle.module` is
    /// not used: its accessor traps when the bundle is missing (a binary copied without it).
    public static var defaultModelDirectory: URL? {
        if let path = ProcessInfo.processInfo.environment["TANDEM_GLYPH_MODEL"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let executableDirectory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("Tandem_TandemDiffusion.resources/glyphs16"),
            executableDirectory.appendingPathComponent("Tandem_TandemDiffusion.resources/glyphs16"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/glyphs16"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
    }

    public init(modelDirectory: URL? = nil) throws {
        guard let directory = modelDirectory ?? Self.defaultModelDirectory else { throw GlyphRendererError.noModel }
        unet = try UNet2DModel(directory: directory)
        schedule = NoiseSchedule(config: try SchedulerConfig(contentsOf: directory.appendingPathComponent("scheduler_config.json")))
        guard let classes = unet.config.numClassEmbeds, classes == Self.characters.count + 1 else {
            throw GlyphRendererError.notAGlyphModel(unet.config.numClassEmbeds)
        }
        emptyClass = classes - 1
    }

    /// The class of a character (letters are case-insensitive).
    public func classLabel(for character: Character) throws -> Int {
        let upper = Character(character.uppercased())
        guard let index = Self.characters.firstIndex(of: upper) else { throw GlyphRendererError.unknownCharacter(character) }
        return index
    }

    public var sampleCount: Int { unet.config.inChannels * unet.config.sampleSize * unet.config.sampleSize }

    /// Renders `options.count` samples of each character, all in one batch. `progress` is called
    /// after every step with (steps done, steps total).
    public func render(_ characters: [Character], options: Options, progress: ((Int, Int) -> Void)? = nil) throws -> [[RGBImage]] {
        guard options.steps >= 1, options.steps <= schedule.config.numTrainTimesteps else { throw GlyphRendererError.badOptions("steps must be 1…\(schedule.config.numTrainTimesteps)") }
        guard options.count >= 1, options.count <= 256 else { throw GlyphRendererError.badOptions("count must be 1…256") }
        guard options.guidance.isFinite, options.guidance >= 0 else { throw GlyphRendererError.badOptions("guidance must be ≥ 0") }
        let solver = Solver(kind: options.solver, schedule: schedule, steps: options.steps)
        var batch = RenderBatch(maxJobsPerStep: Int.max)
        var id = 0
        for character in characters {
            let label = try classLabel(for: character)
            for _ in 0..<options.count {
                batch.add(RenderJob(id: id, classLabel: label, guidanceScale: options.guidance, solver: solver,
                                    seed: options.seed, stream: UInt64(id), sampleCount: sampleCount))
                id += 1
            }
        }
        let sampler = GuidedSampler(unet: unet, emptyClass: emptyClass)
        var finished: [RenderJob] = []
        for step in 1...options.steps {
            finished += try batch.step(using: sampler)
            progress?(step, options.steps)
        }
        let size = unet.config.sampleSize
        let images = finished.sorted { $0.id < $1.id }.map { RGBImage(sample: $0.sample, width: size, height: size) }
        return (0..<characters.count).map { Array(images[($0 * options.count)..<(($0 + 1) * options.count)]) }
    }

    public func render(_ character: Character, options: Options) throws -> [RGBImage] {
        try render([character], options: options)[0]
    }

    /// A word, one glyph per character side by side, scaled up for viewing, as PNG bytes.
    public func renderWordPNG(_ word: String, options: Options, scale: Int = 8) throws -> Data {
        let glyphs = try render(Array(word.filter { $0 != " " }), options: Options(solver: options.solver, steps: options.steps, guidance: options.guidance, seed: options.seed, count: 1))
        return try PNGCodec.encode(RGBImage.row(glyphs.map { $0[0] }, gap: 2).scaled(by: scale))
    }
}

public enum GlyphRendererError: Error, Equatable, CustomStringConvertible {
    case noModel
    case notAGlyphModel(Int?)
    case unknownCharacter(Character)
    case badOptions(String)

    public var description: String {
        switch self {
        case .noModel: "no glyph model: the bundled glyphs16 model is missing and no directory was given"
        case .notAGlyphModel(let n): "not a glyph model: expected 37 classes (0-9, A-Z, empty), found \(n.map(String.init) ?? "none")"
        case .unknownCharacter(let c): "no class for \"\(c)\": glyph models know 0-9 and A-Z"
        case .badOptions(let why): "render options: \(why)"
        }
    }
}
