import TandemDecode
import XCTest

/// Text of a token from a table (tests need no tokenizer): token n is the letter n mod 26, and the
/// table overrides some.
struct TableText: TokenTextStream {
    var table: [Int32: String] = [:]
    mutating func append(_ token: Int32) -> String { table[token] ?? String(UnicodeScalar(UInt8(97 + Int(token) % 26))) }
    mutating func finish() -> String { "" }
}

/// The scheduler with hand-built model outputs: no model, no cache, no sockets.
final class DecodeSchedulerTests: XCTestCase {
    let eos: Int32 = 99

    func scheduler(blocks: Int = 64, blockSize: Int = 4, context: Int = 1024, stepTokens: Int = 256, maxRunning: Int = 64) -> DecodeScheduler {
        DecodeScheduler(configuration: .init(blockCount: blocks, blockSizeTokens: blockSize, contextTokens: context,
                                             maxStepTokens: stepTokens, maxRunning: maxRunning, endOfGeneration: [eos]))
    }

    /// A fake model whose next token is a function of the sequence's tokens so far, so outputs
    /// are reproducible whatever the batching: the sum of the tokens mod 26.
    static func nextToken(_ tokens: [Int32]) -> Int32 { Int32(tokens.reduce(0) { $0 + Int($1) } % 26) }

    /// Runs steps until idle, feeding the fake model; returns each sequence's generated tokens,
    /// text and finish, and every step.
    @discardableResult
    func runToEnd(_ s: inout DecodeScheduler, maxSteps: Int = 10_000, check: (DecodeScheduler, DecodeStep) -> Void = { _, _ in })
        -> (tokens: [Int: [Int32]], text: [Int: String], finish: [Int: FinishReason], steps: [DecodeStep]) {
        var log = GenerationEventLog()
        var steps: [DecodeStep] = []
        var n = 0
        while s.hasWork && n < maxSteps {
            let step = s.schedule()
            check(s, step)
            steps.append(step)
            var sampled: [Int: Int32] = [:]
            for item in step.items where item.samples {
                // The model sees the sequence's computed tokens plus this chunk: all of them.
                sampled[item.sequence] = Self.nextToken(s.sequences[item.sequence]!.tokens)
            }
            log.record(s.update(step, sampled: sampled))
            n += 1
        }
        XCTAssertFalse(s.hasWork, "still busy after \(maxSteps) steps")
        return (log.tokens, log.text, log.finish, steps)
    }

    func testSequencesJoinAndLeaveTheBatchEveryStep() throws {
        var s = scheduler()
        XCTAssertEqual(try s.add(id: 1, request: .init(prompt: [1, 2, 3], maxTokens: 2), text: TableText()), [])
        var step = s.schedule()
        XCTAssertEqual(step.items, [.init(sequence: 1, tokens: [1, 2, 3], samples: true, startsSequence: true)])
        _ = s.update(step, sampled: [1: 7])
        // A second sequence joins while the first decodes.
        _ = try s.add(id: 2, request: .init(prompt: [4, 5], maxTokens: 3), text: TableText())
        step = s.schedule()
        XCTAssertEqual(step.items.map(\.sequence), [1, 2])
        XCTAssertEqual(step.items[0].tokens, [7])
        XCTAssertEqual(step.items[1].tokens, [4, 5])
        let events = s.update(step, sampled: [1: 8, 2: 9])
        XCTAssertEqual(events, [.token(sequence: 1, index: 1, token: 8, text: "i", finish: .length),
                                .token(sequence: 2, index: 0, token: 9, text: "j", finish: nil)])
        // The first left; the second runs alone.
        XCTAssertEqual(s.running, [2])
        step = s.schedule()
        XCTAssertEqual(step.items, [.init(sequence: 2, tokens: [9], samples: true, startsSequence: false)])
    }

    func testLongPromptsArePrefilledInChunksWithinTheStepBudget() throws {
        var s = scheduler(stepTokens: 8)
        _ = try s.add(id: 1, request: .init(prompt: Array(1...20), maxTokens: 1), text: TableText())
        let result = runToEnd(&s)
        XCTAssertEqual(result.steps.map { $0.items.map(\.tokens.count) }, [[8], [8], [4]])
        XCTAssertEqual(result.steps.map { $0.items[0].samples }, [false, false, true])
        XCTAssertEqual(result.tokens[1], [Self.nextToken(Array(1...20))])
    }

    func testStopsOnEndOfGenerationStopStringsAndMaxTokens() throws {
        var s = scheduler()
        // Sequence 1: prompt [1] → next tokens 1, 2, 4, 8, 16, 32%26=6, …; ends on max tokens.
        _ = try s.add(id: 1, request: .init(prompt: [1], maxTokens: 4), text: TableText())
        // Sequence 2: the model's token 3 is mapped to "<stop>" text.
        _ = try s.add(id: 2, request: .init(prompt: [3], maxTokens: 50, stops: ["ST"]), text: TableText(table: [3: "xS", 6: "Tz"]))
        let r = runToEnd(&s)
        XCTAssertEqual(r.tokens[1], [1, 2, 4, 8])
        XCTAssertEqual(r.finish[1], .length)
        XCTAssertEqual(r.text[1], "bcei")
        // 3 → "xS" (S held back: it may start "ST"), 6 → "Tz" completes "ST": stop, "x" only.
        XCTAssertEqual(r.tokens[2], [3, 6])
        XCTAssertEqual(r.text[2], "x")
        XCTAssertEqual(r.finish[2], .stop)

        var e = scheduler()
        _ = try e.add(id: 4, request: .init(prompt: [1], maxTokens: 50), text: TableText())
        let step = e.schedule()
        XCTAssertEqual(e.update(step, sampled: [4: eos]), [.token(sequence: 4, index: 0, token: eos, text: "", finish: .endOfGeneration)])
        XCTAssertFalse(e.hasWork)
    }

    func testStopsWhenTheContextIsFullAndRefusesPromptsLongerThanIt() throws {
        var s = scheduler(context: 10)
        XCTAssertThrowsError(try s.add(id: 1, request: .init(prompt: Array(repeating: 1, count: 11), maxTokens: 5), text: TableText())) {
            XCTAssertEqual($0 as? DecodeAdmissionError, .promptTooLong(tokens: 11, contextTokens: 10))
        }
        XCTAssertThrowsError(try s.add(id: 1, request: .init(prompt: [], maxTokens: 5), text: TableText()))
        _ = try s.add(id: 2, request: .init(prompt: Array(repeating: 1, count: 8), maxTokens: 50), text: TableText())
        let r = runToEnd(&s)
        XCTAssertEqual(r.tokens[2]?.count, 2)
        XCTAssertEqual(r.finish[2], .length)
    }

    func testAdmissionWaitsForFreeBlocksInsteadOfFailing() throws {
        // 6 blocks of 4 tokens: each 9-token prompt needs 3 blocks (10 tokens with its next one).
        var s = scheduler(blocks: 6, blockSize: 4)
        for id in 1...4 { _ = try s.add(id: id, request: .init(prompt: Array(repeating: Int32(id), count: 9), maxTokens: 3), text: TableText()) }
        var maxRunning = 0
        let r = runToEnd(&s) { s, step in
            maxRunning = max(maxRunning, s.running.count)
            XCTAssertGreaterThanOrEqual(s.freeBlocks, 0)
            XCTAssertTrue(step.preempted.isEmpty, "nobody needs to be preempted: 12 tokens fit in 3 blocks")
        }
        XCTAssertEqual(maxRunning, 2)
        for id in 1...4 { XCTAssertEqual(r.finish[id], .length); XCTAssertEqual(r.tokens[id]?.count, 3) }
        XCTAssertEqual(s.freeBlocks, 6)
    }

    func testPreemptionTakesTheLowestPriorityThenYoungestAndRecomputesWithoutChangingOutput() throws {
        func requests() -> [(Int, DecodeRequest)] {
            [(1, .init(prompt: [1, 2, 3], maxTokens: 14, priority: 0)),
             (2, .init(prompt: [5, 6, 7], maxTokens: 14, priority: 1)),
             (3, .init(prompt: [9, 9, 9], maxTokens: 14, priority: 0))]
        }
        // Solo runs with plenty of blocks.
        var solo: [Int: [Int32]] = [:]
        for (id, request) in requests() {
            var s = scheduler(blocks: 64, blockSize: 4)
            _ = try s.add(id: id, request: request, text: TableText())
            solo[id] = runToEnd(&s).tokens[id]
        }
        // Together in 10 blocks: 3 sequences growing to 16 computed tokens (4 blocks each) cannot all stay.
        var s = scheduler(blocks: 10, blockSize: 4)
        for (id, request) in requests() { _ = try s.add(id: id, request: request, text: TableText()) }
        var preempted: [Int] = []
        let r = runToEnd(&s) { s, step in
            preempted += step.preempted
            let projected = s.running.reduce(0) { total, id in
                let computed = s.sequences[id]!.computedTokens + (step.items.first { $0.sequence == id }?.tokens.count ?? 0)
                return total + (computed + 3) / 4
            }
            XCTAssertLessThanOrEqual(projected, 10)
        }
        XCTAssertFalse(preempted.isEmpty, "blocks ran out")
        XCTAssertEqual(preempted.first, 3, "priority 0 and youngest goes first")
        XCTAssertFalse(preempted.contains(2), "the high-priority sequence is never preempted")
        for id in 1...3 { XCTAssertEqual(r.tokens[id], solo[id], "sequence \(id) unchanged by preemption") }
        XCTAssertEqual(s.freeBlocks, 10)
    }

    func testHigherPriorityArrivalPreemptsLowerPriorityRunningSequences() throws {
        var s = scheduler(blocks: 4, blockSize: 4)
        _ = try s.add(id: 1, request: .init(prompt: Array(repeating: 1, count: 11), maxTokens: 4), text: TableText())
        var step = s.schedule()
        _ = s.update(step, sampled: [1: 5])
        XCTAssertEqual(s.blocksHeld(by: 1), 3)
        _ = try s.add(id: 2, request: .init(prompt: Array(repeating: 2, count: 7), maxTokens: 2, priority: 5), text: TableText())
        step = s.schedule()
        XCTAssertEqual(step.preempted, [1])
        XCTAssertEqual(step.items.map(\.sequence), [2])
        XCTAssertEqual(s.running, [2])
        XCTAssertEqual(s.waiting, [1])
        _ = s.update(step, sampled: [2: 1])
        let r = runToEnd(&s)
        XCTAssertEqual(r.finish[1], .length)
        XCTAssertEqual(r.finish[2], .length)
    }

    func testCancellationFreesBlocksAtOnce() throws {
        var s = scheduler(blocks: 8, blockSize: 4)
        _ = try s.add(id: 1, request: .init(prompt: Array(repeating: 1, count: 10), maxTokens: 100), text: TableText())
        _ = try s.add(id: 2, request: .init(prompt: [2], maxTokens: 100), text: TableText())
        _ = try s.add(id: 3, request: .init(prompt: Array(repeating: 3, count: 20), maxTokens: 100), text: TableText())
        let step = s.schedule()
        _ = s.update(step, sampled: [1: 4, 2: 4])
        XCTAssertEqual(s.running, [1, 2])
        XCTAssertEqual(s.usedBlocks, 4)
        XCTAssertEqual(s.cancel(1), .finished(sequence: 1, reason: .cancelled, text: ""))
        XCTAssertEqual(s.usedBlocks, 1)
        XCTAssertEqual(s.freeBlocks, 7)
        XCTAssertEqual(s.cancel(3), .finished(sequence: 3, reason: .cancelled, text: ""), "a waiting one too")
        XCTAssertEqual(s.waiting, [])
        XCTAssertNil(s.cancel(3))
        XCTAssertEqual(s.schedule().items.map(\.sequence), [2])
    }

    func testResumedTokensContinueExactlyWhereTheyStopped() throws {
        let request = DecodeRequest(prompt: [3, 1, 4], maxTokens: 9, stops: ["@@"])
        var s = scheduler()
        _ = try s.add(id: 1, request: request, text: TableText())
        let whole = runToEnd(&s)
        let tokens = try XCTUnwrap(whole.tokens[1])
        XCTAssertEqual(tokens.count, 9)

        var r = scheduler()
        var resumed = request
        resumed.resumed = Array(tokens.prefix(4))
        XCTAssertEqual(try r.add(id: 1, request: resumed, text: TableText()), [])
        let step = r.schedule()
        XCTAssertEqual(step.items[0].tokens, [3, 1, 4] + tokens.prefix(4), "prompt and resumed tokens are recomputed together")
        _ = r.update(step, sampled: [1: Self.nextToken([3, 1, 4] + tokens.prefix(4))])
        let rest = runToEnd(&r)
        XCTAssertEqual(Array(tokens.prefix(5)) + (rest.tokens[1] ?? []), tokens)

        // Resumed tokens that already reached max_tokens end at once.
        var done = scheduler()
        resumed.resumed = tokens
        XCTAssertEqual(try done.add(id: 1, request: resumed, text: TableText()), [.finished(sequence: 1, reason: .length, text: "")])
        XCTAssertFalse(done.hasWork)
    }

    func testStepBudgetAndRunningCapAreRespected() throws {
        var s = scheduler(stepTokens: 5, maxRunning: 3)
        for id in 1...6 { _ = try s.add(id: id, request: .init(prompt: [Int32(id), 1], maxTokens: 4), text: TableText()) }
        let r = runToEnd(&s) { s, step in
            XCTAssertLessThanOrEqual(step.tokenCount, 5)
            XCTAssertLessThanOrEqual(s.running.count, 3)
        }
        for id in 1...6 { XCTAssertEqual(r.tokens[id]?.count, 4) }
    }

    func testPrecomputedPromptIsImportedOutsideTheStepBudgetAndCountsItsBlocks() throws {
        var s = scheduler(blocks: 16, blockSize: 4, stepTokens: 4)
        let prompt: [Int32] = Array(1...10)
        // A prefill worker computed the prompt and sampled the first token.
        let first = Self.nextToken(prompt)
        XCTAssertEqual(try s.add(id: 1, request: .init(prompt: prompt, resumed: [first], maxTokens: 5, precomputedTokens: 10), text: TableText()), [])
        let step = s.schedule()
        XCTAssertEqual(step.items, [.init(sequence: 1, tokens: [first], samples: true, startsSequence: true, importedTokens: 10)])
        _ = s.update(step, sampled: [1: Self.nextToken(prompt + [first])])
        XCTAssertEqual(s.sequences[1]?.computedTokens, 11)
        XCTAssertEqual(s.blocksHeld(by: 1), 3)
        let rest = runToEnd(&s)
        // Same tokens as computing the prompt here.
        var local = scheduler(blocks: 16, blockSize: 4, stepTokens: 4)
        _ = try local.add(id: 1, request: .init(prompt: prompt, maxTokens: 5), text: TableText())
        XCTAssertEqual([first, Self.nextToken(prompt + [first])] + (rest.tokens[1] ?? []), runToEnd(&local).tokens[1])

        // Preempted before it ran, a sequence loses its import and computes its prompt instead.
        var p = scheduler(blocks: 4, blockSize: 4, stepTokens: 64)
        _ = try p.add(id: 2, request: .init(prompt: prompt, resumed: [first], maxTokens: 5, precomputedTokens: 10), text: TableText())
        var step2 = p.schedule()
        XCTAssertEqual(step2.items.first?.importedTokens, 10)
        _ = p.update(step2, sampled: [2: 3])
        _ = try p.add(id: 3, request: .init(prompt: Array(repeating: 1, count: 8), maxTokens: 2, priority: 9), text: TableText())
        step2 = p.schedule()
        XCTAssertEqual(step2.preempted, [2])
        _ = p.update(step2, sampled: [3: 1])
        let after = runToEnd(&p)
        XCTAssertTrue(after.steps.contains { $0.items.contains { $0.sequence == 2 && $0.startsSequence && $0.importedTokens == 0 && $0.tokens.count == 12 } },
                      "recomputed from its tokens: prompt, first token and the one generated before preemption")
    }
}
