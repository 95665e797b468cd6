import Foundation
import TandemDecode
import TandemModel
import XCTest

/// Speculative decoding in the decode engine on the real SmolLM2 model: drafted tokens are
/// verified in the same batched forward call as plain sequences, and greedy output is
/// byte-identical to plain decoding.
final class SpeculativeDecodingTests: XCTestCase {
    nonisolated(unsafe) static var loaded: (model: LlamaModel, tokenizer: BPETokenizer)?

    override func setUpWithError() throws {
        let path = GenerateIntegrationTests.modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["TANDEM_ALLOW_NO_MODEL"] == "1" { throw XCTSkip("no model (TANDEM_ALLOW_NO_MODEL=1)") }
            XCTFail("the model is missing at \(path): run `make test` (it pulls it) or `tandem models pull smollm2-135m`")
            throw XCTSkip("no model")
        }
        if Self.loaded == nil {
            let file = try GGUFFile(path: path)
            Self.loaded = (try LlamaModel(file: file, threads: 2), try BPETokenizer(file: file))
        }
    }

    static let passage = """
        The river keeps its own time. In spring it rises over the meadow and leaves a line of reeds \
        along the fence; in August it shrinks to a ribbon you can cross on three flat stones. The \
        mill that stood by the bridge was built in 1821, burned in 1903, and rebuilt in brick the \
        following year by the same family, who ran it until the last sack of flour left in 1958.
        """

    /// Ten chat prompts: half repeat or edit a passage (prompt lookup finds its n-grams), half are open.
    static let prompts: [GenerateParameters] = [
        .init(prompt: "Repeat this text exactly:\n\(passage)", chat: true),
        .init(prompt: "Copy the following paragraph word for word:\n\(passage)", chat: true),
        .init(prompt: "Rewrite this text, replacing 'river' with 'stream':\n\(passage)", chat: true),
        .init(prompt: "Quote the first two sentences of this text:\n\(passage)", chat: true),
        .init(prompt: "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n\ndef mul(a, b):\n"),
        .init(prompt: "What is the capital of France?", chat: true),
        .init(prompt: "Name three rivers in Europe.", chat: true),
        .init(prompt: "Once upon a time"),
        .init(prompt: "Write a haiku about the sea.", chat: true),
        .init(prompt: "List the days of the week.", chat: true),
    ]

    /// Runs every request at once in one engine; returns each one's tokens and speculation counts.
    func runAll(_ engine: DecodeEngine, _ requests: [DecodeRequest], sampling: SamplingParameters = .greedy) async -> [(ids: [Int32], text: String, stats: SpeculationStats?)] {
        let streams = requests.map { engine.submit($0, sampling: sampling).events }
        var out: [(ids: [Int32], text: String, stats: SpeculationStats?)] = []
        for events in streams {
            var ids: [Int32] = [], text = "", stats: SpeculationStats?
            for await event in events {
                switch event {
                case .token(_, let token, let piece): ids.append(token); text += piece
                case .speculation(let s): stats = s
                case .finished(_, let piece, _): text += piece
                case .failed(let message, _): XCTFail(message)
                case .prefixCached: break
                }
            }
            out.append((ids, text, stats))
        }
        return out
    }

    /// The engine's state once its step loop has published the last step (streams end first).
    func settled(_ engine: DecodeEngine) async -> DecodeEngine.Snapshot {
        for _ in 0..<200 where engine.snapshot.running > 0 || engine.snapshot.freeBlocks < engine.snapshot.totalBlocks {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return engine.snapshot
    }

    /// Greedy output of every prompt with `method` equals plain greedy output; plain and
    /// speculating sequences share every forward call. Returns the speculation counts.
    @discardableResult
    func assertIdenticalToPlain(_ method: DraftMethod, drafts: Int = 1, drafters: (LlamaModel, BPETokenizer) throws -> [any Drafter] = { _, _ in [] },
                                file: StaticString = #filePath, line: UInt = #line) async throws -> SpeculationStats {
        let (model, tokenizer) = Self.loaded!
        let engine = DecodeEngine(model: model, tokenizer: tokenizer, configuration: .init(kvTokens: 8192, speculation: SpeculationPolicy(maxBatchToSpeculate: 64)),
                                  drafters: try drafters(model, tokenizer))
        defer { engine.shutdown() }
        let prompts = try Self.prompts.map { try $0.promptTokens(tokenizer: tokenizer) }
        let plain = prompts.map { DecodeRequest(prompt: $0, maxTokens: 40) }
        let speculative = prompts.map { DecodeRequest(prompt: $0, maxTokens: 40, speculation: SpeculationSettings(method: method, drafts: drafts)) }
        let results = await runAll(engine, plain + speculative)
        for i in prompts.indices {
            XCTAssertEqual(results[10 + i].ids, results[i].ids, "\(method) prompt \(i)", file: file, line: line)
            XCTAssertEqual(results[10 + i].text, results[i].text, "\(method) prompt \(i)", file: file, line: line)
        }
        let total = results[10...].compactMap(\.stats).reduce(SpeculationStats()) {
            SpeculationStats(verifications: $0.verifications + $1.verifications, draftedTokens: $0.draftedTokens + $1.draftedTokens,
                             acceptedTokens: $0.acceptedTokens + $1.acceptedTokens)
        }
        let snapshot = await settled(engine)
        XCTAssertEqual(snapshot.speculation, total, file: file, line: line)
        XCTAssertEqual(snapshot.freeBlocks, snapshot.totalBlocks, "rolled-back and finished sequences hold no blocks", file: file, line: line)
        print("\(method), \(drafts) drafts: \(total), acceptance \(total.acceptanceRate), tokens per verification \(total.tokensPerVerification)")
        return total
    }

    func testGreedyLookupOutputIsIdenticalToPlainForTenPromptsInOneBatch() async throws {
        let total = try await assertIdenticalToPlain(.lookup)
        XCTAssertGreaterThan(total.acceptedTokens, 50, "the repeat prompts accept many drafts: \(total)")
    }

    func testGreedyEarlyExitOutputIsIdenticalToPlainForTenPrompts() async throws {
        let total = try await assertIdenticalToPlain(.earlyExit) { model, _ in [ModelDrafter(earlyExitOf: model, layers: 8, kvTokens: 8192)] }
        XCTAssertGreaterThan(total.draftedTokens, 0)
    }

    func testGreedyDraftModelOutputIsIdenticalToPlainForTenPrompts() async throws {
        // SmolLM2 drafting for itself: every greedy draft is the target's own choice.
        let total = try await assertIdenticalToPlain(.model) { model, tokenizer in
            [try ModelDrafter(draft: model, draftTokenizer: tokenizer, targetTokenizer: tokenizer, kvTokens: 8192)]
        }
        XCTAssertGreaterThan(total.acceptanceRate, 0.95, "\(total)")
    }

    func testADraftModelWithAnotherVocabularyIsRefused() throws {
        let (model, tokenizer) = Self.loaded!
        let file = try GGUFFile(path: GenerateIntegrationTests.modelPath)
        var writer = GGUFWriter()
        for key in file.metadataKeys {
            var value = file.metadata[key]!
            if key == "tokenizer.ggml.tokens", case .array(var tokens) = value {
                tokens[300] = .string("not-the-same")
                value = .array(tokens)
            }
            writer.metadata.append((key, value))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-other-vocab-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let other = try BPETokenizer(file: try GGUFFile(path: path))
        XCTAssertThrowsError(try ModelDrafter(draft: model, draftTokenizer: other, targetTokenizer: tokenizer)) { error in
            XCTAssertEqual(error as? DraftVocabularyError, DraftVocabularyError(draftSize: tokenizer.vocabularySize, targetSize: tokenizer.vocabularySize, firstDifference: 300))
            XCTAssertTrue("\(error)".contains("token 300"))
        }
    }

    func testSampledSpeculativeOutputIsReproducibleForASeed() async throws {
        let (model, tokenizer) = Self.loaded!
        let engine = DecodeEngine(model: model, tokenizer: tokenizer, configuration: .init(kvTokens: 4096))
        defer { engine.shutdown() }
        let prompt = try Self.prompts[0].promptTokens(tokenizer: tokenizer)
        let request = DecodeRequest(prompt: prompt, maxTokens: 32, speculation: SpeculationSettings(method: .lookup, draftTokens: 4))
        let sampling = SamplingParameters(temperature: 0.7, topP: 0.9, seed: 11)
        let a = await runAll(engine, [request], sampling: sampling)
        let b = await runAll(engine, [request, request], sampling: sampling)
        XCTAssertEqual(a[0].ids, b[0].ids)
        XCTAssertEqual(b[0].ids, b[1].ids)
        XCTAssertGreaterThan(a[0].stats?.acceptedTokens ?? 0, 0)
    }
}
