import Foundation
import Synchronization
import TandemClient
import TandemDecode
import TandemModel
import TestSupport
import XCTest

/// Speculative decoding with drafts from a `tandem-draft` worker: real router, decode and draft
/// processes; outputs compared token for token with plain greedy `LocalGenerator` output.
extension GenerateIntegrationTests {
    /// Starts a draft worker of `router` and waits until the router lists it with its draft methods
    /// (from its first heartbeat; the decode worker's directory then finds it within one
    /// heartbeat, 200 ms here).
    func startDraftWorker(_ router: LocalRouter, name: String, arguments: [String]) throws -> ChildProcess {
        let draft = try router.startWorker("tandem-draft", capacity: 1, name: name,
                                           extraArguments: ["--model", Self.modelPath, "--threads", "1"] + arguments)
        children.append(draft)
        let client = try client(router)
        eventually(timeout: 30, "draft worker \(name) registers and reports its methods") {
            let answer = try client.query(.workers) as? [String: Any]
            return (answer?["workers"] as? [[String: Any]] ?? []).contains {
                $0["name"] as? String == name && $0["endpoint"] != nil && $0["draft_methods"] != nil
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        return draft
    }

    /// The ten prompts of the in-process speculation tests, shortened to `maxTokens`.
    static func tenPrompts(maxTokens: Int) -> [GenerateParameters] {
        SpeculativeDecodingTests.prompts.map { p in
            var p = p
            p.maxTokens = maxTokens
            return p
        }
    }

    static func with(_ prompts: [GenerateParameters], speculative method: String) -> [GenerateParameters] {
        prompts.map { p in
            var p = p
            p.speculative = method
            return p
        }
    }

    func testGreedyOutputWithDraftsFromADraftWorkerMatchesPlainForTenPromptsPerMethod() throws {
        // No in-process early-exit or model drafter: every such draft comes from a draft worker.
        let router = try startStack(decodeArguments: ["--remote-draft-methods", "lookup,early-exit,model", "--early-exit-layers", "0",
                                                      "--speculate-max-batch", "16", "--draft-timeout-ms", "3000"], clientsForDecode: true)
        let prompts = Self.tenPrompts(maxTokens: 16)
        let expected = try prompts.map { try local($0) }

        // A draft worker that offers only prompt lookup: a `model` job is not sent to it, finds no
        // draft anywhere, and decodes plainly, saying so.
        _ = try startDraftWorker(router, name: "draft-lookup", arguments: ["--early-exit-layers", "0"])
        let undraftedCase = Self.with([prompts[5]], speculative: "model")[0]
        let undrafted = try generate(router, undraftedCase)
        try assertMatches(undrafted, expected[5], undraftedCase)
        let none = try XCTUnwrap(undrafted.result?.speculation)
        XCTAssertEqual(none.verifications, 0, "\(none)")
        XCTAssertEqual(none.remoteRounds, 0, "\(none)")
        XCTAssertGreaterThan(none.undraftedRounds ?? 0, 0, "the result says no draft was available: \(none)")

        _ = try startDraftWorker(router, name: "draft-1", arguments: ["--early-exit-layers", "4", "--draft-model", Self.modelPath])
        for method in ["lookup", "early-exit", "model"] {
            let cases = Self.with(prompts, speculative: method)
            let streamed = try generateConcurrently(router, cases)
            for i in cases.indices { try assertMatches(streamed[i], expected[i], cases[i]) }
            let stats = streamed.map { $0.result?.speculation }
            // (Prompt lookup has nothing to draft for a prompt whose n-grams do not recur.)
            let remote = stats.map { $0?.remoteRounds ?? 0 }
            XCTAssertGreaterThan(remote[0], 0, "\(method): drafts came from a draft worker")
            if method != "lookup" { XCTAssertTrue(remote.allSatisfy { $0 > 0 }, "\(method): drafts came from the draft worker: \(remote)") }
            // The lookup-only worker was never asked for a method it lacks (a refusal would leave
            // the round undrafted: this decode worker cannot draft early-exit or model itself).
            XCTAssertEqual(stats.map { $0?.undraftedRounds ?? 0 }, Array(repeating: 0, count: cases.count), "\(method)")
            if method == "model" {
                // SmolLM2 drafting for itself: every draft is the target's choice.
                XCTAssertGreaterThan(stats.reduce(0) { $0 + ($1?.acceptedTokens ?? 0) }, 0, "\(stats)")
            }
        }
        // Drafting ahead (PEARL) changes nothing but the time; SmolLM2 drafting for itself accepts
        // every draft, so rounds are answered from drafts made ahead.
        var ahead = Self.with(Array(prompts.prefix(3)), speculative: "model")
        for i in ahead.indices { ahead[i].parallelDrafting = true }
        let aheadStreamed = try generateConcurrently(router, ahead)
        for i in ahead.indices { try assertMatches(aheadStreamed[i], expected[i], ahead[i]) }
        XCTAssertGreaterThan(aheadStreamed.reduce(0) { $0 + ($1.result?.speculation?.predraftedRounds ?? 0) }, 0, "some rounds were drafted ahead")

        // Sampled: the drafts' distributions travel with them, so the draws are those of the same
        // drafter in process (same seeds, same distributions, same rejection rule).
        let sampled = GenerateParameters(prompt: "Write a haiku about the sea.", chat: true, maxTokens: 24, temperature: 0.8, seed: 7,
                                          speculative: "model", draftTokens: 4)
        let remote = try generate(router, sampled)
        XCTAssertEqual(remote.final.state, "succeeded")
        XCTAssertEqual(remote.result?.ids, try inProcessSpeculative(sampled), "sampled remote drafts = sampled in-process drafts")
        XCTAssertGreaterThan(remote.result?.speculation?.remoteRounds ?? 0, 0)

        // `tandem queues` shows what the decode and draft workers report with their heartbeats.
        let client = try client(router)
        eventually(timeout: 10, "the decode service reports speculation and the draft service its load") {
            let answer = try client.query(.queues) as? [String: Any]
            let queues = answer?["queues"] as? [[String: Any]] ?? []
            let decode = queues.first { $0["service"] as? String == "decode" }
            let draft = queues.first { $0["service"] as? String == "draft" }
            guard let rounds = decode?["spec_remote_rounds"] as? Int, let rate = decode?["acceptance_rate"] as? Double,
                  let perStep = decode?["tokens_per_step"] as? Double,
                  let answered = draft?["draft_rounds"] as? Int, let busy = draft?["draft_busy"] as? Double,
                  let methods = draft?["draft_methods"] as? [String], draft?["draft_sessions"] is Int else { return false }
            return rounds > 0 && rate > 0 && rate <= 1 && perStep > 1 && answered >= rounds && (0...1).contains(busy)
                && methods == ["early-exit", "lookup", "model"]
        }
        let workers = (try client.query(.workers) as? [String: Any])?["workers"] as? [[String: Any]] ?? []
        let methods = Dictionary(uniqueKeysWithValues: workers.compactMap { w in (w["name"] as? String).map { ($0, w["draft_methods"] as? [String]) } })
        XCTAssertEqual(methods["draft-lookup"], ["lookup"])
        XCTAssertEqual(methods["draft-1"], ["early-exit", "lookup", "model"])
    }

    /// The tokens a decode engine in this process generates for `params` with a model drafter
    /// (the reference model drafting for itself).
    func inProcessSpeculative(_ params: GenerateParameters) throws -> [Int32] {
        let (model, tokenizer) = Self.reference!
        let engine = DecodeEngine(model: model, tokenizer: tokenizer, configuration: .init(kvTokens: 2048),
                                  drafters: [try ModelDrafter(draft: model, draftTokenizer: tokenizer, targetTokenizer: tokenizer, kvTokens: 2048)])
        defer { engine.shutdown() }
        let events = engine.submit(DecodeRequest(prompt: try params.promptTokens(tokenizer: tokenizer), maxTokens: params.maxTokens ?? 128,
                                                 speculation: params.speculation), sampling: params.sampling).events
        let ids = Mutex<[Int32]>([])
        let done = DispatchSemaphore(value: 0)
        Task {
            for await event in events { if case .token(_, let token, _) = event { ids.withLock { $0.append(token) } } }
            done.signal()
        }
        done.wait()
        return ids.withLock { $0 }
    }

    func testKillingTheDraftWorkerMidGenerationFallsBackAndSpeculationResumesWithANewOneForEachMethod() throws {
        // Early-exit and model drafts only from the draft worker: after the kill, those sequences
        // decode plainly; lookup falls back to the decode worker's own prompt lookup.
        let router = try startStack(decodeArguments: ["--remote-draft-methods", "lookup,early-exit,model", "--early-exit-layers", "0",
                                                      "--speculate-max-batch", "8", "--draft-timeout-ms", "1000"], clientsForDecode: true)
        let draftArguments = ["--early-exit-layers", "4", "--draft-model", Self.modelPath]
        let draft = try startDraftWorker(router, name: "draft-1", arguments: draftArguments)
        let prompts: [GenerateParameters] = [
            .init(prompt: "Repeat this text exactly:\n\(SpeculativeDecodingTests.passage)", chat: true, maxTokens: 40),
            .init(prompt: "Write a short story about a lighthouse keeper.", chat: true, maxTokens: 40),
        ]
        let expected = try prompts.map { try local($0) }
        let methods = ["lookup", "early-exit", "model"]
        let cases = methods.flatMap { Self.with(prompts, speculative: $0) }
        let killed = Atomic<Bool>(false)
        let gaps = Mutex<(last: [Int: Date], largest: TimeInterval)>(([:], 0))
        let victim = draft
        let streamed = try generateConcurrently(router, cases) { i, n in
            let now = Date()
            gaps.withLock { g in
                if let last = g.last[i] { g.largest = max(g.largest, now.timeIntervalSince(last)) }
                g.last[i] = now
            }
            if n == 8, !killed.exchange(true, ordering: .relaxed) { victim.kill9() }
        }
        XCTAssertTrue(killed.load(ordering: .relaxed))
        for i in cases.indices { try assertMatches(streamed[i], expected[i % prompts.count], cases[i]) }
        for (m, method) in methods.enumerated() {
            let stats = streamed[m * prompts.count..<(m + 1) * prompts.count].map { $0.result?.speculation }
            XCTAssertGreaterThan(stats.reduce(0) { $0 + ($1?.remoteRounds ?? 0) }, 0, "\(method): drafts came from the draft worker before the kill")
            if method != "lookup" {
                XCTAssertGreaterThan(stats.reduce(0) { $0 + ($1?.undraftedRounds ?? 0) }, 0, "\(method): rounds after the kill decoded plainly")
            }
        }
        let largestGap = gaps.withLock { $0.largest }
        // Generous under a loaded machine: a stall would be the router's liveness (3 × 200 ms) or
        // worse; a step that waits for the dead draft worker waits 1 s at most, once.
        XCTAssertLessThan(largestGap, 5, "no token waited long for the dead draft worker")

        // A new draft worker is found and used again, for every method.
        _ = try startDraftWorker(router, name: "draft-2", arguments: draftArguments)
        let again = methods.map { Self.with([prompts[0]], speculative: $0)[0] }
        let againStreamed = try generateConcurrently(router, again)
        for (i, method) in methods.enumerated() {
            try assertMatches(againStreamed[i], expected[0], again[i])
            XCTAssertGreaterThan(againStreamed[i].result?.speculation?.remoteRounds ?? 0, 0, "\(method): speculation resumed with the new draft worker")
        }
    }
}
