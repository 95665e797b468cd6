import TandemDecode
import TandemModel
import XCTest

/// The scheduler's speculation decisions with a fake model and fake drafters: who drafts, how
/// many tokens, within which budget and blocks, and that verified steps change no output.
final class DecodeSchedulerSpeculationTests: XCTestCase {
    let eos: Int32 = 99

    func scheduler(blocks: Int = 64, blockSize: Int = 4, context: Int = 1024, stepTokens: Int = 256,
                   policy: SpeculationPolicy = SpeculationPolicy()) -> DecodeScheduler {
        DecodeScheduler(configuration: .init(blockCount: blocks, blockSizeTokens: blockSize, contextTokens: context,
                                             maxStepTokens: stepTokens, endOfGeneration: [eos], speculation: policy))
    }

    /// A draft that agrees with the fake model except at every `wrongEvery`-th drafted position.
    static func draft(_ context: [Int32], count: Int, wrongEvery: Int) -> [Int32] {
        var c = context, out: [Int32] = []
        for j in 0..<count {
            var t = DecodeSchedulerTests.nextToken(c)
            if wrongEvery > 0, (c.count + j) % wrongEvery == 0 { t = (t + 1) % 26 }
            out.append(t)
            c.append(t)
        }
        return out
    }

    /// Runs to the end, drafting for whoever `draftRequests()` names and verifying greedily as the
    /// engine does; returns generated tokens, text, finishes and steps. With `rightAlternative`,
    /// each proposal adds a second chain that is always right.
    func run(_ s: inout DecodeScheduler, wrongEvery: Int, rightAlternative: Bool = false,
             check: (DecodeScheduler, DecodeStep) -> Void = { _, _ in })
        -> (tokens: [Int: [Int32]], text: [Int: String], finish: [Int: FinishReason], steps: Int) {
        var log = GenerationEventLog()
        var steps = 0
        while s.hasWork && steps < 10_000 {
            var proposals: [Int: [[Int32]]] = [:]
            for (id, count) in s.draftRequests() {
                let context = s.sequences[id]!.tokens
                proposals[id] = [Self.draft(context, count: count, wrongEvery: wrongEvery)]
                if rightAlternative { proposals[id]!.append(Self.draft(context, count: count, wrongEvery: 0)) }
            }
            let step = s.schedule(proposals: proposals)
            check(s, step)
            var accepted: [Int: [Int32]] = [:]
            for item in step.items where item.samples {
                let history = s.sequences[item.sequence]!.tokens
                accepted[item.sequence] = SpeculativeVerifier.greedy(candidates: item.candidateChains) { DecodeSchedulerTests.nextToken(history + $0) }
            }
            log.record(s.update(step, accepted: accepted), checkingOrder: true)
            // What the executor's cache holds after rolling back: every token but the last.
            for id in s.running { XCTAssertEqual(s.sequences[id]!.computedTokens, s.sequences[id]!.tokens.count - 1) }
            steps += 1
        }
        XCTAssertFalse(s.hasWork)
        return (log.tokens, log.text, log.finish, steps)
    }

    func requests(speculation: SpeculationSettings?) -> [(Int, DecodeRequest)] {
        [(1, DecodeRequest(prompt: [1, 2, 3], maxTokens: 40, speculation: speculation)),
         (2, DecodeRequest(prompt: [5, 6, 7, 8, 9], maxTokens: 33, stops: ["q"], speculation: speculation)),
         (3, DecodeRequest(prompt: [20, 2], maxTokens: 25, speculation: speculation)),
         (4, DecodeRequest(prompt: [4, 4, 4, 4, 4, 4, 4], maxTokens: 17, speculation: nil))]
    }

    func testVerifiedStepsProduceExactlyThePlainOutputInFewerSteps() throws {
        var plain = scheduler()
        for (id, r) in requests(speculation: nil) { _ = try plain.add(id: id, request: r, text: TableText()) }
        let reference = run(&plain, wrongEvery: 0)
        for settings in [SpeculationSettings(method: .lookup, draftTokens: 4), SpeculationSettings(method: .lookup)] {
            for wrongEvery in [0, 3, 7] {
                var s = scheduler(policy: SpeculationPolicy(maxBatchToSpeculate: 64))
                for (id, r) in requests(speculation: settings) { _ = try s.add(id: id, request: r, text: TableText()) }
                let r = run(&s, wrongEvery: wrongEvery)
                XCTAssertEqual(r.tokens, reference.tokens, "\(settings) wrong every \(wrongEvery)")
                XCTAssertEqual(r.text, reference.text)
                XCTAssertEqual(r.finish, reference.finish)
                XCTAssertLessThan(r.steps, reference.steps)
            }
        }
    }

    func testAlternativeChainsChangeNoOutputAndTheirAcceptedTokensCount() throws {
        var plain = scheduler()
        for (id, r) in requests(speculation: nil) { _ = try plain.add(id: id, request: r, text: TableText()) }
        let reference = run(&plain, wrongEvery: 0)
        var single = scheduler(policy: SpeculationPolicy(maxBatchToSpeculate: 64))
        var double = scheduler(policy: SpeculationPolicy(maxBatchToSpeculate: 64))
        for (id, r) in requests(speculation: SpeculationSettings(method: .lookup, draftTokens: 4)) {
            _ = try single.add(id: id, request: r, text: TableText())
            _ = try double.add(id: id, request: r, text: TableText())
        }
        let one = run(&single, wrongEvery: 3)
        let two = run(&double, wrongEvery: 3, rightAlternative: true) { _, step in
            for item in step.items where item.draftedTokens > 0 { XCTAssertEqual(item.alternativeDrafts.count, 1) }
        }
        XCTAssertEqual(two.tokens, reference.tokens)
        XCTAssertEqual(two.text, reference.text)
        XCTAssertEqual(two.finish, reference.finish)
        XCTAssertLessThan(two.steps, one.steps, "the always-right second chain is accepted where the first is not")
    }

    func testAlternativeChainsFitTheBudgetAndBlocksAfterTheFirst() throws {
        // Block size 4; the sequence has 6 tokens, 5 computed (2 blocks, the second partial).
        func decoding(blocks: Int, stepTokens: Int) throws -> DecodeScheduler {
            var s = scheduler(blocks: blocks, blockSize: 4, stepTokens: stepTokens)
            _ = try s.add(id: 1, request: DecodeRequest(prompt: [1, 2, 3, 4, 5], maxTokens: 50, speculation: .init(method: .lookup, draftTokens: 3, drafts: 3)), text: TableText())
            _ = s.update(s.schedule(), sampled: [1: 6])
            return s
        }
        var s = try decoding(blocks: 16, stepTokens: 64)
        var step = s.schedule(proposals: [1: [[9, 9, 9], [1, 2, 3], [1, 2]]])
        XCTAssertEqual(step.items[0].tokens, [6, 9, 9, 9])
        XCTAssertEqual(step.items[0].alternativeDrafts, [[1, 2, 3], [1, 2]])
        XCTAssertEqual(step.tokenCount, 4 + 4 + 3, "each alternative computes the last token again")
        XCTAssertEqual(step.items[0].draftedPositions, 3)
        _ = s.update(step, accepted: [1: [1, 2, 3, 7]])
        XCTAssertEqual(s.sequences[1]!.tokens.suffix(5), [6, 1, 2, 3, 7])
        XCTAssertEqual(s.sequences[1]!.computedTokens, 9, "the accepted alternative's positions are kept")
        XCTAssertEqual(s.sequences[1]!.acceptedDraftTokens, 3)

        // Step budget 6: the first chain takes 4, the next gets the rest (its last token and 1 draft).
        s = try decoding(blocks: 16, stepTokens: 6)
        step = s.schedule(proposals: [1: [[9, 9, 9], [1, 2, 3], [1, 2]]])
        XCTAssertEqual(step.items[0].draftedTokens, 3)
        XCTAssertEqual(step.items[0].alternativeDrafts, [[1]])

        // 3 blocks: 2 held, the first chain needs the third; a fork would need a copy of the partial block.
        s = try decoding(blocks: 3, stepTokens: 64)
        step = s.schedule(proposals: [1: [[9, 9, 9], [1, 2, 3]]])
        XCTAssertEqual(step.items[0].draftedTokens, 3)
        XCTAssertEqual(step.items[0].alternativeDrafts, [])
        XCTAssertEqual(step.preempted, [])
    }

    func testDraftsStopAtMaxTokensAndWaitForTheSequenceToDecode() throws {
        var s = scheduler()
        _ = try s.add(id: 1, request: DecodeRequest(prompt: Array(1...9), maxTokens: 3, speculation: .init(method: .lookup, draftTokens: 8)), text: TableText())
        XCTAssertEqual(s.draftRequests(), [:], "the prompt is not computed yet")
        let step = s.schedule(proposals: [1: [[1, 2, 3]]])
        XCTAssertEqual(step.items[0].draftedTokens, 0, "a prefill chunk carries no drafts")
        _ = s.update(step, sampled: [1: 5])
        // One token generated, 3 at most: 2 more, so 1 draft plus the target's token.
        XCTAssertEqual(s.draftRequests(), [1: 1])
        let next = s.schedule(proposals: [1: [[6, 7, 8]]])
        XCTAssertEqual(next.items[0].tokens, [5, 6])
        XCTAssertEqual(next.items[0].draftedTokens, 1)
    }

    func testSpeculationSwitchesOffAboveTheBatchThreshold() throws {
        var s = scheduler(policy: SpeculationPolicy(maxBatchToSpeculate: 2))
        for id in 1...3 { _ = try s.add(id: id, request: DecodeRequest(prompt: [Int32(id), 2], maxTokens: 20, speculation: .init(method: .lookup, draftTokens: 3)), text: TableText()) }
        var step = s.schedule()
        _ = s.update(step, sampled: [1: 1, 2: 2, 3: 3])
        XCTAssertFalse(s.speculationIsOn)
        XCTAssertEqual(s.draftRequests(), [:])
        step = s.schedule(proposals: [1: [[4, 4]]])
        XCTAssertEqual(step.items.map(\.draftedTokens), [0, 0, 0], "proposals are ignored while speculation is off")
        _ = s.update(step, sampled: [1: 1, 2: 2, 3: 3])
        _ = s.cancel(3)
        XCTAssertEqual(s.draftRequests(), [1: 3, 2: 3])
    }

    func testDraftsFitTheStepBudgetAndFreeBlocksAndNeverPreempt() throws {
        // 3 blocks of 4: the sequence holds 2 (5 tokens + the block being filled), 1 is free.
        var s = scheduler(blocks: 3, blockSize: 4, stepTokens: 6)
        _ = try s.add(id: 1, request: DecodeRequest(prompt: [1, 2, 3, 4, 5], maxTokens: 50, speculation: .init(method: .lookup, draftTokens: 8)), text: TableText())
        var step = s.schedule()
        _ = s.update(step, sampled: [1: 6])
        // 6 tokens, 5 computed: the step appends token 6 and at most 5 drafts (budget 6); blocks allow up to 12 positions.
        step = s.schedule(proposals: [1: [[1, 1, 1, 1, 1, 1, 1, 1]]])
        XCTAssertEqual(step.items[0].draftedTokens, 5)
        XCTAssertEqual(step.preempted, [])
        _ = s.update(step, accepted: [1: [1, 2]])
        XCTAssertEqual(s.sequences[1]!.tokens.suffix(3), [6, 1, 2])
        XCTAssertEqual(s.sequences[1]!.computedTokens, 7, "the 4 rejected drafts are no longer counted")
        XCTAssertEqual(s.sequences[1]!.draftedTokens, 5)
        XCTAssertEqual(s.sequences[1]!.acceptedDraftTokens, 1)
        // 8 tokens, 12 positions: 3 drafts fit the blocks, whatever the proposal.
        step = s.schedule(proposals: [1: [[1, 1, 1, 1, 1, 1, 1, 1]]])
        XCTAssertEqual(step.items[0].draftedTokens, 3)
    }

    func testAdaptiveDraftLengthFollowsTheMeasuredAcceptance() throws {
        let policy = SpeculationPolicy(maxDraftTokens: 8)
        XCTAssertGreaterThan(policy.adaptiveDraftLength(acceptance: 0.9), policy.adaptiveDraftLength(acceptance: 0.5))
        XCTAssertEqual(policy.adaptiveDraftLength(acceptance: 0.05), 0, "no length pays for its drafts")
        XCTAssertEqual(policy.adaptiveDraftLength(acceptance: 1), 8)
        // Drafts that survive their first position and then mostly hold (a copied passage) are
        // worth a long draft, where one rate of 0.7 at every position would stop at two.
        XCTAssertEqual(policy.adaptiveDraftLength(acceptance: 0.7), 2)
        XCTAssertEqual(policy.adaptiveDraftLength(acceptanceByPosition: [0.7] + Array(repeating: 0.99, count: 7)), 8)
        // A position never tried yet is assumed as good as the one before it.
        let h = policy.acceptanceByPosition(accepted: [9, 9], tried: [10, 9])
        XCTAssertEqual(h.count, 8)
        XCTAssertEqual(h[0], (9 + policy.priorAcceptance * policy.priorWeight) / (10 + policy.priorWeight), accuracy: 1e-12)
        XCTAssertGreaterThan(h[1], h[0])
        XCTAssertEqual(h[2], h[1], accuracy: 1e-12)
        XCTAssertEqual(h[7], h[1], accuracy: 1e-12)

        // Probes back off: 16, 32, 64, 128, 256 generated tokens, then every 256.
        XCTAssertEqual((1...1024).filter { SpeculationPolicy().probes(atGenerated: $0) }, [16, 32, 64, 128, 256, 512, 768, 1024])

        // A sequence whose drafts are always wrong stops drafting, except the probes.
        var s = scheduler(policy: policy)
        _ = try s.add(id: 1, request: DecodeRequest(prompt: [1, 2], maxTokens: 200, speculation: .init(method: .lookup)), text: TableText())
        _ = s.update(s.schedule(), sampled: [1: 3])
        let first = s.draftRequests()[1]!
        var drafting: [Int] = []
        for _ in 0..<70 {
            if let k = s.draftRequests()[1] {
                drafting.append(s.sequences[1]!.generatedCount)
                _ = s.update(s.schedule(proposals: [1: [Array(repeating: 0, count: k)]]), accepted: [1: [7]])
            } else {
                _ = s.update(s.schedule(), sampled: [1: 7])
            }
        }
        XCTAssertGreaterThanOrEqual(first, 1)
        let probes = drafting.drop { $0 < policy.probeInterval }
        XCTAssertFalse(probes.isEmpty)
        XCTAssertTrue(probes.allSatisfy { policy.probes(atGenerated: $0) }, "\(drafting)")
        XCTAssertEqual(s.sequences[1]!.draftedTokens - s.sequences[1]!.acceptedDraftTokens, s.sequences[1]!.draftedTokens)
    }

    func testASequenceWhoseDrafterFindsNothingAsksLessAndLess() throws {
        var s = scheduler()
        _ = try s.add(id: 1, request: DecodeRequest(prompt: [1, 2], maxTokens: 200, speculation: .init(method: .lookup)), text: TableText())
        _ = s.update(s.schedule(), sampled: [1: 3])
        var asked: [Int] = []
        for _ in 0..<55 {
            if s.draftRequests()[1] != nil { asked.append(s.sequences[1]!.generatedCount) }
            _ = s.update(s.schedule(proposals: [:]), sampled: [1: 4])
        }
        XCTAssertEqual(asked, [1, 2, 4, 8, 16, 32, 48])
        // One answer with drafts and it asks every step again.
        let k = s.draftRequests()[1] ?? 0
        let g = s.sequences[1]!.generatedCount
        XCTAssertEqual(k, 0, "still paused at \(g)")
        while s.draftRequests()[1] == nil { _ = s.update(s.schedule(proposals: [:]), sampled: [1: 4]) }
        _ = s.update(s.schedule(proposals: [1: [[9]]]), accepted: [1: [9, 4]])
        XCTAssertNotNil(s.draftRequests()[1])
    }
}
