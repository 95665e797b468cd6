import TandemModel

/// Iteration-level continuous batching as a pure `schedule()` / `update()` pair (vLLM v1's
/// `schedule()` / `update_from_output()`): no model, no cache, no sockets.
///
/// Every step, `schedule()` picks what the next forward call computes — one token for each
/// decoding sequence, chunks of prompts being prefilled, recomputation of preempted sequences —
/// within a token budget and the KV blocks it accounts for; `update()` takes the sampled tokens
/// back and reports text, stops and finishes. Sequences join and leave the batch at every step.
///
/// - Admission: waiting sequences are admitted in order (priority, then age) while the blocks for
///   all their tokens plus one fit; the first that does not fit waits, and so does everything
///   behind it (no starvation by smaller requests). Nothing is refused for lack of blocks.
/// - Preemption: when a running sequence needs a block and none is free, the lowest-priority,
///   then youngest, running sequence loses all its blocks and goes back to waiting; it is
///   recomputed from its tokens later (recompute, not swap), which changes none of its output:
///   its tokens and the position-keyed sampler make the next draw the same. A waiting sequence
///   of higher priority than some running ones preempts them the same way.
/// - Stops: end-of-generation tokens, stop strings (held back until they can no longer match),
///   `maxTokens`, and the context (`contextTokens`).
/// - Cancellation removes a sequence at once and its blocks count as free for the next step.
/// - Speculation: `draftRequests()` says who drafts and how many tokens; `schedule(proposals:)`
///   verifies them (one chain, or several candidate chains on forks of the sequence's cache) in
///   the same step; `update(accepted:)` takes 1 to k + 1 tokens per sequence
///   (`DecodeScheduler+Speculation.swift`, docs/generate.md).
///
/// ```swift
/// var scheduler = DecodeScheduler(configuration: .init(blockCount: 64, blockSizeTokens: 16, contextTokens: 1024))
/// _ = try scheduler.add(id: 1, request: DecodeRequest(prompt: ids, maxTokens: 32), text: detokenizer)
/// while scheduler.hasWork {
///     let step = scheduler.schedule()
///     // release step.preempted, run step.items through the model, sample where item.samples
///     let events = scheduler.update(step, sampled: tokens)
/// }
/// ```
public struct DecodeScheduler: Sendable {
    public struct Configuration: Sendable {
        public var blockCount: Int
        public var blockSizeTokens: Int
        /// Prompt plus generated tokens of one sequence at most (at most `blockCount` blocks).
        public var contextTokens: Int
        /// Tokens one forward call computes at most (decode tokens plus prefill chunks).
        public var maxStepTokens: Int
        /// Sequences in the running batch at most.
        public var maxRunning: Int
        /// Tokens that end a generation.
        public var endOfGeneration: Set<Int32>
        /// Who speculates and how many tokens it drafts.
        public var speculation: SpeculationPolicy

        public init(blockCount: Int, blockSizeTokens: Int, contextTokens: Int, maxStepTokens: Int = 256,
                    maxRunning: Int = 64, endOfGeneration: Set<Int32> = [], speculation: SpeculationPolicy = SpeculationPolicy()) {
            precondition(blockCount > 0 && blockSizeTokens > 0 && maxStepTokens > 0 && maxRunning > 0)
            self.blockCount = blockCount; self.blockSizeTokens = blockSizeTokens
            self.contextTokens = min(contextTokens, blockCount * blockSizeTokens)
            self.maxStepTokens = maxStepTokens; self.maxRunning = maxRunning; self.endOfGeneration = endOfGeneration
            self.speculation = speculation
        }
    }

    public let configuration: Configuration
    public private(set) var sequences: [Int: DecodeSequence] = [:]
    /// Running sequence ids, highest priority then oldest first.
    public private(set) var running: [Int] = []
    /// Waiting sequence ids (new or preempted), in admission order.
    public private(set) var waiting: [Int] = []
    private var nextArrival: UInt64 = 0
    private var pending: DecodeStep?

    public init(configuration: Configuration) { self.configuration = configuration }

    public var hasWork: Bool { !running.isEmpty || !waiting.isEmpty }
    public var usedBlocks: Int { running.reduce(0) { $0 + blocks(for: sequences[$1]!.computedTokens) } }
    public var freeBlocks: Int { configuration.blockCount - usedBlocks }
    /// Blocks the sequence's computed tokens occupy (0 when it waits).
    public func blocksHeld(by id: Int) -> Int { sequences[id].map { blocks(for: $0.computedTokens) } ?? 0 }

    func blocks(for tokens: Int) -> Int { (tokens + configuration.blockSizeTokens - 1) / configuration.blockSizeTokens }

    // MARK: arrivals and cancellation

    /// Queues a sequence. Resumed tokens are replayed through `text` and the stop strings, so a
    /// resumed sequence holds back exactly what the original run held back; if they already end
    /// the generation, the `finished` event comes back at once and nothing is queued.
    public mutating func add(id: Int, request: DecodeRequest, text: any TokenTextStream) throws -> [DecodeEvent] {
        precondition(sequences[id] == nil, "sequence \(id) exists")
        guard !request.prompt.isEmpty else { throw DecodeAdmissionError.emptyPrompt }
        guard request.maxTokens >= 1 else { throw DecodeAdmissionError.badMaxTokens(request.maxTokens) }
        let length = request.prompt.count + request.resumed.count
        guard length <= configuration.contextTokens else {
            throw DecodeAdmissionError.promptTooLong(tokens: length, contextTokens: configuration.contextTokens)
        }
        var sequence = DecodeSequence(id: id, priority: request.priority, arrival: nextArrival, promptTokenCount: request.prompt.count,
                                      maxTokens: request.maxTokens, tokens: request.prompt, text: text,
                                      stopMatcher: StopStringMatcher(stops: request.stops), speculation: request.speculation)
        // At least the last token is computed, for its logits.
        sequence.importableTokens = min(request.precomputedTokens, length - 1)
        nextArrival += 1
        for token in request.resumed {
            let (_, finish) = Self.accept(token, into: &sequence, configuration: configuration)
            if let finish {
                return [.finished(sequence: id, reason: finish, text: Self.tail(of: &sequence, finish: finish))]
            }
        }
        sequences[id] = sequence
        insert(id, into: &waiting)
        return []
    }

    /// Drops a sequence, running or waiting; its blocks are free for the next step. Call between
    /// `update` and `schedule` (the executor's cache must release it too).
    public mutating func cancel(_ id: Int) -> DecodeEvent? {
        precondition(pending == nil, "cancel between update() and schedule()")
        guard sequences.removeValue(forKey: id) != nil else { return nil }
        running.removeAll { $0 == id }
        waiting.removeAll { $0 == id }
        return .finished(sequence: id, reason: .cancelled, text: "")
    }

    // MARK: the step

    /// The next batch. Call `update` with it before scheduling again.
    ///
    /// `proposals` are candidate chains of drafted tokens for sequences that `draftRequests()`
    /// named (one chain, or several with multi-draft): each is verified in this step as far as the
    /// step budget and free blocks allow, the first chain first (a draft never preempts anything),
    /// and ignored for a sequence that may not speculate now.
    public mutating func schedule(proposals: [Int: [[Int32]]] = [:]) -> DecodeStep {
        precondition(pending == nil, "schedule() twice without update()")
        var step = DecodeStep()
        var budget = configuration.maxStepTokens
        var free = freeBlocks

        // A waiting sequence of higher priority than the tail of the running batch takes that
        // tail's blocks, if they are enough for it.
        if let id = waiting.first {
            let s = sequences[id]!
            let whole = blocks(for: s.tokens.count + 1)
            var reclaimable = 0, victims = 0
            for other in running.reversed() where whole > free + reclaimable {
                guard sequences[other]!.priority < s.priority else { break }
                reclaimable += blocks(for: sequences[other]!.computedTokens)
                victims += 1
            }
            if whole > free, whole <= free + reclaimable {
                for _ in 0..<victims { free += preemptLast(into: &step) }
            }
        }

        // Running sequences, highest priority first; the ones at the end give way.
        var i = 0
        while i < running.count {
            let id = running[i]
            let s = sequences[id]!
            let n = min(s.tokens.count - s.computedTokens, budget)
            if n == 0 { i += 1; continue }
            let need = blocks(for: s.computedTokens + n) - blocks(for: s.computedTokens)
            while need > free, running.last != id {
                free += preemptLast(into: &step)
            }
            if need > free {
                _ = preemptLast(into: &step)  // itself: nothing lower is left to take from
                break
            }
            free -= need
            budget -= n
            var tokens = Array(s.tokens[s.computedTokens..<s.computedTokens + n])
            var drafted = 0
            var alternatives: [[Int32]] = []
            let allowance = n == 1 && s.computedTokens > 0 ? draftAllowance(for: s) : nil
            if allowance != nil { Self.recordDraftAnswer(of: &sequences[id]!, empty: proposals[id]?.first?.isEmpty ?? true) }
            if let allowed = allowance, let chains = proposals[id], let proposal = chains.first {
                // Drafts ride in the same call; each costs budget and, past the block being filled, blocks.
                drafted = min(proposal.count, allowed, budget)
                while drafted > 0, blocks(for: s.tokens.count + drafted) - blocks(for: s.tokens.count) > free { drafted -= 1 }
                tokens += proposal.prefix(drafted)
                free -= blocks(for: s.tokens.count + drafted) - blocks(for: s.tokens.count)
                budget -= drafted
                // Other candidates each go on a fork: the last token again plus the chain, in a
                // private copy of the partial block and new blocks past it.
                for chain in chains.dropFirst() where drafted > 0 {
                    let length = min(chain.count, allowed, budget - 1)
                    let need = blocks(for: s.tokens.count + length) - s.computedTokens / configuration.blockSizeTokens
                    guard length > 0, need <= free else { break }
                    alternatives.append(Array(chain.prefix(length)))
                    free -= need
                    budget -= 1 + length
                }
            }
            step.items.append(.init(sequence: id, tokens: tokens, samples: s.computedTokens + n == s.tokens.count,
                                    startsSequence: s.computedTokens == 0, draftedTokens: drafted, alternativeDrafts: alternatives))
            i += 1
        }

        // Then waiting ones, in order, while they fit. Nothing preempted this step is readmitted in it.
        while budget > 0, running.count < configuration.maxRunning, let id = waiting.first, !step.preempted.contains(id) {
            let s = sequences[id]!
            let whole = blocks(for: s.tokens.count + 1)
            guard whole <= free else { break }
            // Imported tokens cost blocks but no compute: they are outside the step budget.
            let imported = s.importableTokens
            let n = min(s.tokens.count - imported, budget)
            free -= blocks(for: imported + n)
            budget -= n
            waiting.removeFirst()
            insert(id, into: &running)
            step.items.append(.init(sequence: id, tokens: Array(s.tokens[imported..<imported + n]), samples: imported + n == s.tokens.count,
                                    startsSequence: true, importedTokens: imported))
        }
        pending = step
        return step
    }

    /// Takes the step's sampled tokens (one for every item with `samples`) and returns what
    /// happened: tokens with their text, and finishes. Finished sequences are gone from the
    /// scheduler; the executor releases their cache.
    public mutating func update(_ step: DecodeStep, sampled: [Int: Int32]) -> [DecodeEvent] {
        update(step, accepted: sampled.mapValues { [$0] })
    }

    /// `update` for steps that verified drafts: per sampling item, the accepted drafts (a prefix of
    /// one candidate chain) followed by the target's own token (1 to `draftedPositions + 1`
    /// tokens; exactly one without drafts). A speculating sequence's rejected positions stay
    /// counted until this returns: the executor then truncates its cache to
    /// `sequences[id].computedTokens`.
    public mutating func update(_ step: DecodeStep, accepted: [Int: [Int32]]) -> [DecodeEvent] {
        precondition(pending == step, "update() with a step that schedule() did not return last")
        pending = nil
        var events: [DecodeEvent] = []
        for item in step.items {
            guard var s = sequences[item.sequence] else { continue }
            s.computedTokens += item.importedTokens + item.tokens.count
            if item.startsSequence { s.importableTokens = 0 }
            guard item.samples else { sequences[item.sequence] = s; continue }
            guard let tokens = accepted[item.sequence], !tokens.isEmpty, tokens.count <= item.draftedPositions + 1 else {
                preconditionFailure("sequence \(item.sequence) needs 1 to \(item.draftedPositions + 1) tokens")
            }
            if item.draftedTokens > 0 {
                let kept = tokens.dropLast()
                precondition(item.candidateChains.contains { $0.starts(with: kept) }, "accepted tokens that were not drafted")
                // The sequence now holds its last token and the accepted drafts (the executor
                // moved an accepted alternative chain's blocks in); the rest is rolled back.
                s.computedTokens += kept.count - item.draftedTokens
                Self.recordVerification(of: &s, drafted: item.draftedPositions, accepted: kept.count)
            }
            var finished = false
            for token in tokens {
                let index = s.generatedCount
                var (text, finish) = Self.accept(token, into: &s, configuration: configuration)
                if let finish { text += Self.tail(of: &s, finish: finish) }
                events.append(.token(sequence: item.sequence, index: index, token: token, text: text, finish: finish))
                if finish != nil { finished = true; break }
            }
            if finished {
                sequences[item.sequence] = nil
                running.removeAll { $0 == item.sequence }
            } else {
                sequences[item.sequence] = s
            }
        }
        return events
    }

    /// Forgets a scheduled step that could not run (the executor failed it); cancel its
    /// sequences next, since the cache no longer matches their accounting.
    public mutating func abandon(_ step: DecodeStep) {
        precondition(pending == step, "abandon() with a step that schedule() did not return last")
        pending = nil
    }

    // MARK: helpers

    /// Appends a generated token and decides whether the sequence ends on it (the rules of
    /// `LocalGenerator`, so both produce the same text).
    static func accept(_ token: Int32, into s: inout DecodeSequence, configuration: Configuration) -> (text: String, finish: FinishReason?) {
        s.tokens.append(token)
        if configuration.endOfGeneration.contains(token) { return ("", .endOfGeneration) }
        let (text, stopped) = s.stopMatcher.feed(s.text.append(token))
        if stopped { return (text, .stop) }
        if s.generatedCount >= s.maxTokens || s.tokens.count >= configuration.contextTokens { return (text, .length) }
        return (text, nil)
    }

    /// The text held back at the end (nothing after a stop string).
    static func tail(of s: inout DecodeSequence, finish: FinishReason) -> String {
        guard finish != .stop else { return "" }
        let (text, _) = s.stopMatcher.feed(s.text.finish())
        return text + s.stopMatcher.finish()
    }

    /// Preempts the last running sequence (lowest priority, youngest); returns the blocks freed.
    private mutating func preemptLast(into step: inout DecodeStep) -> Int {
        let victim = running.removeLast()
        var s = sequences[victim]!
        let freed = blocks(for: s.computedTokens)
        s.computedTokens = 0
        s.importableTokens = 0
        s.preemptions += 1
        sequences[victim] = s
        insert(victim, into: &waiting)
        step.preempted.append(victim)
        return freed
    }

    /// Inserts keeping the order: higher priority first, then older first.
    private func insert(_ id: Int, into list: inout [Int]) {
        let s = sequences[id]!
        let index = list.firstIndex { other in
            let o = sequences[other]!
            return o.priority < s.priority || (o.priority == s.priority && o.arrival > s.arrival)
        } ?? list.count
        list.insert(id, at: index)
    }
}
