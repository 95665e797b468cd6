import ArgumentParser
import TandemDecode
import TandemModel

/// The flags of `tandem bench generate --speculative METHOD` (SpeculativeBenchmark).
struct SpeculativeBenchOptions: ParsableArguments {
    @Option(help: "Benchmark speculative decoding with this draft method (in this process) instead of the stack.") var speculative: DraftMethod?
    @Option(name: .customLong("draft-tokens"), help: "With --speculative: tokens drafted per step, or auto.") var draftTokens = "auto"
    @Option(help: "With --speculative: also measure this many candidate draft chains per step (multi-draft) beside one.") var drafts = 1
    @Option(help: "With --speculative: times every row runs its variants (in order, then reversed).") var rounds = 1
    @Option(name: .customLong("grounded-tokens"), help: "With --speculative: tokens per grounded (repeat/edit) generation.") var groundedTokens = 256
    @Option(name: .customLong("chat-tokens"), help: "With --speculative: tokens per open-chat generation.") var chatTokens = 96
    @Option(name: .customLong("early-exit-layers"), help: "With --speculative early-exit: layers that draft.") var earlyExitLayers = 8
    @Option(name: .customLong("draft-model"), help: "With --speculative model: the draft model (default: the model itself).") var draftModel: String?
    @Option(name: .customLong("speculate-max-batch"), help: "With --speculative: running sequences above which nobody speculates (default: the decode worker's).")
    var speculateMaxBatch = SpeculationPolicy().maxBatchToSpeculate
    @Flag(name: .customLong("via-stack"),
          help: "With --speculative: run the generations through the running stack (tandem up), with drafts from its draft workers, instead of an engine in this process.")
    var viaStack = false

    /// The benchmark to run instead of the stack's, when `--speculative` is given; `python` (the
    /// command's `--python`) runs the llama.cpp prompt-lookup reference (empty: skip).
    func benchmark(levels: [Int], model: String, threads: Int, python: String, json: Bool, router: RouterOptions) throws -> SpeculativeBenchmark? {
        guard let speculative else { return nil }
        var k: Int?
        if draftTokens != "auto" {
            guard let n = Int(draftTokens), n >= 1, n <= GenerateParameters.maxDraftTokens else {
                throw ValidationError("--draft-tokens must be auto or 1...\(GenerateParameters.maxDraftTokens)")
            }
            k = n
        }
        guard drafts >= 1, drafts <= GenerateParameters.maxDrafts else { throw ValidationError("--drafts must be in 1...\(GenerateParameters.maxDrafts)") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        return SpeculativeBenchmark(method: speculative, draftTokens: k, drafts: drafts, rounds: rounds, levels: levels, model: model, threads: threads,
                                    groundedTokens: groundedTokens, chatTokens: chatTokens, earlyExitLayers: earlyExitLayers,
                                    draftModel: draftModel, speculateMaxBatch: speculateMaxBatch, python: python, json: json,
                                    stack: viaStack ? router : nil)
    }
}
