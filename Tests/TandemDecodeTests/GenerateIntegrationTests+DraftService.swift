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
    /// Starts a draft worker of `router` and waits until the router lists it (the decode worker's
    /// directory then finds it within one heartbeat, 200 ms here).
    func startDraftWorker(_ router: LocalRouter, name: String, arguments: [String]) throws -> ChildProcess {
        let draft = try router.startWorker("tandem-draft", capacity: 1, name: name,
                                           extraArguments: ["--model", Self.modelPath, "--threads", "1"] + arguments)
        children.append(draft)
        let client = try client(router)
        eventually(timeout: 30, "draft worker \(name) registers") {
            let answer = try client.query(.workers) as? [String: Any]
            return (answer?["workers"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == name && $0["endpoint"] != nil }
        }
        Thread.sleep(forTimeInterval: 0.5)
        return draft
    }

    func testGreedyOutputWithDraftsFromADraftWorkerMatchesPlainForEachMethod() throws {
        // No in-process early-exit or model drafter: every such draft comes from the draft worker.
        let router = try startStack(decodeArguments: ["--remote-draft-methods", "lookup,early-exit,model", "--early-exit-layers", "0",
                                                      "--speculate-max-batch", "8", "--draft-timeout-ms", "3000"], clientsForDecode: true)
        _ = try startDraftWorker(router, name: "draft-1", arguments: ["--early-exit-layers", "4", "--draft-model", Self.modelPath])
        let passage = "The mill by the bridge was built in 1821, burned in 1903, and rebuilt in brick the following year."
        let prompts: [GenerateParameters] = [
            .init(prompt: "Repeat this text exactly:\n\(passage)", chat: true, maxTokens: 24),
            .init(prompt: "The capital of France is", maxTokens: 12),
            .init(prompt: "def fibonacci(n):", maxTokens: 16, stop: ["\n\n"]),
        ]
        for method in ["lookup", "early-exit", "model"] {
            let cases = prompts.map { p in
                var p = p
                p.speculative = method
                return p
            }
            let streamed = try generateConcurrently(router, cases)
            for (s, params) in zip(streamed, cases) { try assertMatchesLocal(s, params) }
            // (Prompt lookup has nothing to draft for a prompt whose n-grams do not recur.)
            let remote = streamed.map { $0.result?.speculation?.remoteRounds ?? 0 }
            XCTAssertGreaterThan(remote[0], 0, "\(method): drafts came from the draft worker")
            if method != "lookup" { XCTAssertTrue(remote.allSatisfy { $0 > 0 }, "\(method): drafts came from the draft worker: \(remote)") }
            if method == "model" {
                // SmolLM2 drafting for itself: every draft is the target's choice.
                let stats = streamed.compactMap { $0.result?.speculation }
                XCTAssertGreaterThan(stats.reduce(0) { $0 + $1.acceptedTokens }, 0, "\(stats)")
            }
        }
        // Drafting ahead (PEARL) changes nothing but the time; SmolLM2 drafting for itself accepts
        // every draft, so rounds are answered from drafts made ahead.
        let ahead = prompts.map { p in
            var p = p
            p.speculative = "model"
            p.parallelDrafting = true
            return p
        }
        let aheadStreamed = try generateConcurrently(router, ahead)
        for (s, params) in zip(aheadStreamed, ahead) { try assertMatchesLocal(s, params) }
        XCTAssertGreaterThan(aheadStreamed.reduce(0) { $0 + ($1.result?.speculation?.predraftedRounds ?? 0) }, 0, "some rounds were drafted ahead")

        // Sampled: the drafts' distributions travel with them, so the draws are those of the same
        // drafter in process (same seeds, same distributions, same rejection rule).
        let sampled = GenerateParameters(prompt: "Write a haiku about the sea.", chat: true, maxTokens: 24, temperature: 0.8, seed: 7,
                                          speculative: "model", draftTokens: 4)
        let remote = try generate(router, sampled)
        XCTAssertEqual(remote.final.state, "succeeded")
        XCTAssertEqual(remote.result?.ids, try inProcessSpeculative(sampled), "sampled remote drafts = sampled in-process drafts")
        XCTAssertGreaterThan(remote.result?.speculation?.remoteRounds ?? 0, 0)

        // `tandem queues` shows what the decode worker reports with its heartbeats.
        let client = try client(router)
        eventually(timeout: 10, "the decode service reports speculation") {
            let answer = try client.query(.queues) as? [String: Any]
            let decode = (answer?["queues"] as? [[String: Any]])?.first { $0["service"] as? String == "decode" }
            guard let rounds = decode?["spec_remote_rounds"] as? Int, let rate = decode?["acceptance_rate"] as? Double,
                  let perStep = decode?["tokens_per_step"] as? Double else { return false }
            return rounds > 0 && rate > 0 && rate <= 1 && perStep > 1
        }
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

    func testKillingTheDraftWorkerMidGenerationFallsBackToPlainDecodingAndSpeculationResumesWithANewOne() throws {
        // Early-exit drafts only from the draft worker: after the kill, these sequences decode plainly.
        let router = try startStack(decodeArguments: ["--remote-draft-methods", "early-exit", "--early-exit-layers", "0",
                                                      "--speculate-max-batch", "8", "--draft-timeout-ms", "100"], clientsForDecode: true)
        let draft = try startDraftWorker(router, name: "draft-1", arguments: ["--early-exit-layers", "4"])
        let cases: [GenerateParameters] = [
            .init(prompt: "Write a short story about a lighthouse keeper.", chat: true, maxTokens: 48, speculative: "early-exit"),
            .init(prompt: "Explain how rain forms.", chat: true, maxTokens: 48, speculative: "early-exit"),
            .init(prompt: "List five animals that live in the sea.", chat: true, maxTokens: 48, speculative: "early-exit"),
        ]
        let killed = Atomic<Bool>(false)
        let gaps = Mutex<(last: [Int: Date], largest: TimeInterval)>(([:], 0))
        nonisolated(unsafe) let victim = draft
        let streamed = try generateConcurrently(router, cases) { i, n in
            let now = Date()
            gaps.withLock { g in
                if let last = g.last[i] { g.largest = max(g.largest, now.timeIntervalSince(last)) }
                g.last[i] = now
            }
            if n == 6, !killed.exchange(true, ordering: .relaxed) { victim.kill9() }
        }
        XCTAssertTrue(killed.load(ordering: .relaxed))
        for (s, params) in zip(streamed, cases) { try assertMatchesLocal(s, params) }
        XCTAssertGreaterThan(streamed.reduce(0) { $0 + ($1.result?.speculation?.remoteRounds ?? 0) }, 0, "drafts came from the draft worker before the kill")
        let largestGap = gaps.withLock { $0.largest }
        // Generous under a loaded machine: a stall would be the router's liveness (3 × 200 ms) or
        // worse; a step that waits for a dead draft worker waits 100 ms at most, once.
        XCTAssertLessThan(largestGap, 5, "no token waited long for the dead draft worker")

        // A new draft worker is found and used again.
        _ = try startDraftWorker(router, name: "draft-2", arguments: ["--early-exit-layers", "4"])
        let again = try generate(router, cases[0])
        try assertMatchesLocal(again, cases[0])
        XCTAssertGreaterThan(again.result?.speculation?.remoteRounds ?? 0, 0, "speculation resumed with the new draft worker")
    }
}
