import Foundation
import TandemDecode
import TandemModel
import TestSupport
import XCTest

/// Multi-draft (`drafts` > 1) with the candidate chains from a `tandem-draft` worker: real router,
/// decode and draft processes.
extension GenerateIntegrationTests {
    func testCandidateChainsFromADraftWorkerKeepGreedyOutputAndSampledDraws() throws {
        let router = try startStack(decodeArguments: ["--remote-draft-methods", "early-exit,model", "--early-exit-layers", "0",
                                                      "--speculate-max-batch", "8", "--draft-timeout-ms", "3000"], clientsForDecode: true)
        _ = try startDraftWorker(router, name: "draft-multi", arguments: ["--early-exit-layers", "4", "--draft-model", Self.modelPath])
        let cases: [GenerateParameters] = [
            .init(prompt: "Write a short story about a lighthouse keeper.", chat: true, maxTokens: 32, speculative: "early-exit", drafts: 3),
            .init(prompt: "The capital of France is", maxTokens: 12, speculative: "early-exit", drafts: 3),
            .init(prompt: "def fibonacci(n):", maxTokens: 16, stop: ["\n\n"], speculative: "early-exit", drafts: 3),
        ]
        let streamed = try generateConcurrently(router, cases)
        for (s, params) in zip(streamed, cases) { try assertMatchesLocal(s, params) }
        XCTAssertTrue(streamed.allSatisfy { ($0.result?.speculation?.remoteRounds ?? 0) > 0 }, "the chains came from the draft worker")

        // Sampled chains travel with their distributions: the same draws as the same drafter in process.
        let sampled = GenerateParameters(prompt: "Write a haiku about the sea.", chat: true, maxTokens: 24, temperature: 0.8, seed: 5,
                                         speculative: "model", draftTokens: 3, drafts: 3)
        let remote = try generate(router, sampled)
        XCTAssertEqual(remote.final.state, "succeeded")
        XCTAssertEqual(remote.result?.ids, try inProcessSpeculative(sampled), "sampled remote chains = sampled in-process chains")
        XCTAssertGreaterThan(remote.result?.speculation?.remoteRounds ?? 0, 0)
    }
}
