import ArgumentParser
import Foundation
import TandemDecode
import TandemModel

/// `tandem bench draft-wire`: what a sampled draft token costs on the wire and what it is accepted
/// at, with the draft's whole distribution q (the old DRAFT_PROPOSAL: 12 bytes for each of the
/// vocabulary's tokens) against the compact q a drafter now draws from and ships
/// (`TokenDistribution.compactedForDrafts`: the 1 − 1e-4 of the mass, Float32 weights, 8 bytes per
/// kept token), side by side on the same positions with the same random numbers.
///
/// For each open-chat prompt of `bench generate` it samples a continuation with the target, then at
/// every continuation position takes the target's p and each drafter's q (early exit, and a draft
/// model: the model itself unless `--draft-model`), and reports per drafter: bytes per draft token,
/// the expected acceptance Σ min(p, q), and the acceptance the verifier's rejection rule gives a
/// draft drawn from q (the draws and coins keyed by the same seed and position for both q).
struct BenchDraftWireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "draft-wire",
                                                    abstract: "Bytes and acceptance of sampled drafts: whole vs compact draft distributions.")

    @Option(help: "Model name or GGUF path.") var model = ModelCatalog.defaultModel.name
    @Option(help: "Compute threads.") var threads = 2
    @Option(name: .customLong("early-exit-layers")) var earlyExitLayers = 8
    @Option(name: .customLong("draft-model"), help: "Draft model (default: the model itself).") var draftModel: String?
    @Option(help: "Tokens sampled per prompt.") var tokens = 48
    @Option(help: "Sampling temperature.") var temperature: Float = 0.8
    @Option(help: "Sampling seed.") var seed: UInt64 = 1
    @Option(name: .customLong("tail-mass"), help: "Mass the compact q may leave out (the drafters' setting: 1e-4).") var tailMass = 1e-4
    @Option(name: .customLong("compact-sizes"), help: "Most tokens a compact q keeps, comma-separated sizes to compare (the drafters' setting: 1024).")
    var compactSizes = "1024"

    struct Tally {
        var positions = 0
        var wholeBytes = 0, compactBytes = 0
        var wholeExpected = 0.0, compactExpected = 0.0
        var wholeAccepted = 0, compactAccepted = 0
        var compactEntriesMax = 0

        /// One position: the whole q's figures (computed once for every size) and the compact q's.
        mutating func add(whole: (entries: Int, expected: Double, accepted: Bool), compact: TokenDistribution, target: TokenDistribution,
                          u: Double, seed: UInt64, position: Int) {
            positions += 1
            wholeBytes += 12 * whole.entries
            wholeExpected += whole.expected
            wholeAccepted += whole.accepted ? 1 : 0
            let shipped = DraftMessage.proposal(DraftProposal(sequence: 0, round: 0, drafts: [DraftToken(token: compact.draw(u), distribution: compact)])).frames
            compactBytes += shipped.count > 4 ? shipped[4].count : 0
            compactEntriesMax = max(compactEntriesMax, compact.tokens.count)
            compactExpected += BenchDraftWireCommand.overlap(target, compact)
            compactAccepted += BenchDraftWireCommand.accepted(draft: compact, u: u, target: target, seed: seed, position: position) ? 1 : 0
        }
    }

    func run() throws {
        let file = try GGUFFile(path: try ModelLoading.resolve(model))
        let tokenizer = try BPETokenizer(file: file)
        let target = try LlamaModel(file: file, threads: threads)
        let drafter = try draftModel.map { try LlamaModel(file: try GGUFFile(path: try ModelLoading.resolve($0)), threads: threads) } ?? target
        guard earlyExitLayers >= 1, earlyExitLayers < target.config.blockCount else {
            throw ValidationError("--early-exit-layers must be 1...\(target.config.blockCount - 1)")
        }
        let sampling = SamplingParameters(temperature: temperature, seed: seed)
        print("model \(file.path), \(threads) threads, temperature \(temperature), seed \(seed), load average \(BenchModelCommand.loadAverage())")
        let sizes = compactSizes.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 }), tailMass >= 0, tailMass < 1 else { throw ValidationError("--compact-sizes: sizes ≥ 1; --tail-mass in [0, 1)") }
        let drafterNames = ["early-exit \(earlyExitLayers) layers", "model \(draftModel ?? "(itself)")"]
        var tallies = drafterNames.flatMap { name in sizes.map { (name: "\(name), ≤ \($0) tokens", tally: Tally()) } }
        for (n, text) in BenchGenerateCommand.prompts.enumerated() {
            let prompt = try GenerateParameters(prompt: text, chat: true).promptTokens(tokenizer: tokenizer)
            var promptSampling = sampling
            promptSampling.seed = sampling.seed &+ UInt64(n)
            let continuation = try LocalGenerator(model: target, tokenizer: tokenizer).generate(prompt: prompt, maxTokens: tokens, sampling: promptSampling) { _ in }.tokens
            let all = prompt + continuation
            let p = try Self.logits(target, all, from: prompt.count, layers: target.config.blockCount)
            let drafts = [try Self.logits(target, all, from: prompt.count, layers: earlyExitLayers),
                          try Self.logits(drafter, all, from: prompt.count, layers: drafter.config.blockCount)]
            for (d, q) in drafts.enumerated() {
                for (i, row) in q.enumerated() {
                    let position = prompt.count + i
                    let history = Array(all[..<position])
                    let target = Sampler.distribution(logits: p[i], history: history, parameters: promptSampling)
                    let whole = Sampler.distribution(logits: row, history: history, parameters: promptSampling)
                    // The draft's own draw (the drafters' stream), the same for the whole and the compact q.
                    let u = CounterRNG.uniform(seed: promptSampling.seed, position: position, stream: 0x80)
                    let wholeFigures = (entries: whole.tokens.count, expected: Self.overlap(target, whole),
                                        accepted: Self.accepted(draft: whole, u: u, target: target, seed: promptSampling.seed, position: position))
                    for (k, size) in sizes.enumerated() {
                        tallies[d * sizes.count + k].tally.add(whole: wholeFigures, compact: whole.compactedForDrafts(tailMass: tailMass, maxTokens: size),
                                                               target: target, u: u, seed: promptSampling.seed, position: position)
                    }
                }
            }
        }
        print("tail mass \(tailMass)")
        print("drafter, compact size                 positions  bytes/token whole → compact (ratio)  largest compact  expected acceptance whole → compact  drawn and verified whole → compact")
        for (name, t) in tallies {
            let n = Double(max(t.positions, 1))
            print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: " %9d  %10.0f → %7.0f (×%.4f)  %15d  %19.4f → %.4f  %18.4f → %.4f", t.positions,
                         Double(t.wholeBytes) / n, Double(t.compactBytes) / n, Double(t.compactBytes) / Double(max(t.wholeBytes, 1)),
                         t.compactEntriesMax, t.wholeExpected / n, t.compactExpected / n, Double(t.wholeAccepted) / n, Double(t.compactAccepted) / n))
        }
    }

    /// The model's logits after each token of `tokens` from index `from − 1` on (one row per
    /// position `from`…`tokens.count − 1`), through its first `layers` blocks and its head.
    static func logits(_ model: LlamaModel, _ tokens: [Int32], from: Int, layers: Int) throws -> [[Float]] {
        let cache = PagedKVCache(layerCount: layers, kvDimension: model.config.kvDimension, blockCount: (tokens.count + 15) / 16 + 1)
        try cache.createSequence(0)
        let rows = try model.forward([ForwardRequest(sequence: 0, tokens: tokens, logitIndices: Array(from - 1..<tokens.count - 1))], cache: cache, layers: layers)
        return rows[0]
    }

    /// Σ min(p, q): the chance a draft drawn from q is accepted.
    static func overlap(_ p: TokenDistribution, _ q: TokenDistribution) -> Double {
        let qp = q.probabilities
        return p.probabilities.reduce(0) { $0 + min($1.value, qp[$1.key] ?? 0) }
    }

    /// Whether the verifier accepts the draft drawn from `draft` with `u` (its own coin, keyed as in decoding).
    static func accepted(draft: TokenDistribution, u: Double, target: TokenDistribution, seed: UInt64, position: Int) -> Bool {
        SpeculativeVerifier.verify(drafts: [DraftToken(token: draft.draw(u), distribution: draft)], targets: [target, target], seed: seed, position: position).count == 2
    }
}
