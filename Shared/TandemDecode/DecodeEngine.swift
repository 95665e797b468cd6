import Foundation
import Synchronization
import TandemModel

/// One model, one paged KV cache and one step loop on its own thread, serving every sequence of
/// a decode worker: each step runs `DecodeScheduler.schedule()`, one batched forward call over
/// all the step's items, the sampler, and `update()`.
///
/// Jobs hand requests in with `submit` (any thread) and read their tokens from the returned
/// stream; `cancel` takes effect before the next step. The loop sleeps when nothing runs.
///
/// ```swift
/// let engine = DecodeEngine(model: model, tokenizer: tokenizer, configuration: .init(kvTokens: 8192))
/// let (id, events) = engine.submit(DecodeRequest(prompt: ids, maxTokens: 64), sampling: .greedy)
/// for await event in events { … }
/// ```
public final class DecodeEngine: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// KV cache size in token positions (all sequences together).
        public var kvTokens: Int
        public var blockSizeTokens: Int
        /// Tokens per forward call at most: the prefill chunk size when prompts wait.
        public var maxStepTokens: Int
        public var maxRunning: Int
        /// Who speculates and how many tokens it drafts.
        public var speculation: SpeculationPolicy

        public init(kvTokens: Int = 8192, blockSizeTokens: Int = 16, maxStepTokens: Int = 256, maxRunning: Int = 64,
                    speculation: SpeculationPolicy = SpeculationPolicy()) {
            self.kvTokens = kvTokens; self.blockSizeTokens = blockSizeTokens; self.maxStepTokens = maxStepTokens; self.maxRunning = maxRunning
            self.speculation = speculation
        }
    }

    /// The engine's state at one moment (reported with every finish, for tests and metrics).
    public struct Snapshot: Sendable, Equatable {
        public var running: Int
        public var waiting: Int
        public var freeBlocks: Int
        public var totalBlocks: Int
        public var steps: Int
        public var preemptions: Int
        /// Prompt tokens not computed because their blocks were cached.
        public var prefixCachedTokens: Int
        /// Prompt tokens whose keys and values were imported from a prefill worker.
        public var importedTokens: Int
        /// Speculation over every sequence so far.
        public var speculation: SpeculationStats
    }

    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let configuration: Configuration
    /// Prompt plus generated tokens of one sequence at most.
    public let contextTokens: Int

    private struct Arrival {
        var id: Int
        var request: DecodeRequest
        var sampling: SamplingParameters
        var importedKV: [[UInt8]]?
        var continuation: AsyncStream<GenerationEvent>.Continuation
    }

    private struct Inbox {
        var arrivals: [Arrival] = []
        var cancels: [Int] = []
        var nextID = 1
        var stopping = false
    }

    private let inbox = NSCondition()
    private var pending = Inbox()  // guarded by `inbox`
    private let latest: Mutex<Snapshot>
    private let latestPrefixes = Mutex<[UInt64]>([])
    private var prefixesPublishedAt = ContinuousClock.now  // owned by the step loop's thread
    private var thread: Thread?

    // Owned by the step loop's thread.
    private var scheduler: DecodeScheduler
    private let cache: PagedKVCache
    private var sinks: [Int: (continuation: AsyncStream<GenerationEvent>.Continuation, sampling: SamplingParameters)] = [:]
    private var steps = 0
    private var preemptions = 0
    private var prefixCachedTokens = 0
    private var importedTokens = 0
    /// Precomputed keys and values waiting for their sequence's admission.
    private var imports: [Int: [[UInt8]]] = [:]
    /// Draft makers by method; prompt lookup is always there.
    private var drafters: [DraftMethod: any Drafter]
    private var speculation = SpeculationStats()
    private var speculationBySequence: [Int: SpeculationStats] = [:]

    /// `drafters` add draft methods beyond prompt lookup (early exit, a draft model); a sequence
    /// asking for a method this engine lacks decodes plainly.
    public init(model: LlamaModel, tokenizer: BPETokenizer, configuration: Configuration = Configuration(), drafters: [any Drafter] = []) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        var byMethod: [DraftMethod: any Drafter] = [.lookup: PromptLookupDrafter()]
        for d in drafters { byMethod[d.method] = d }
        self.drafters = byMethod
        cache = PagedKVCache(config: model.config, capacityTokens: configuration.kvTokens, blockSizeTokens: configuration.blockSizeTokens)
        var endOfGeneration = Set<Int32>()
        for id in 0..<Int32(tokenizer.vocabularySize) where tokenizer.isEndOfGeneration(id) { endOfGeneration.insert(id) }
        scheduler = DecodeScheduler(configuration: .init(
            blockCount: cache.blockCount, blockSizeTokens: configuration.blockSizeTokens, contextTokens: model.config.contextLength,
            maxStepTokens: configuration.maxStepTokens, maxRunning: configuration.maxRunning, endOfGeneration: endOfGeneration,
            speculation: configuration.speculation))
        contextTokens = scheduler.configuration.contextTokens
        latest = Mutex(Snapshot(running: 0, waiting: 0, freeBlocks: cache.blockCount, totalBlocks: cache.blockCount, steps: 0, preemptions: 0, prefixCachedTokens: 0, importedTokens: 0, speculation: SpeculationStats()))
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "tandem-decode-steps"
        self.thread = thread
        thread.start()
    }

    /// Stops the step loop (sequences still running get `failed`).
    public func shutdown() {
        inbox.lock()
        pending.stopping = true
        inbox.signal()
        inbox.unlock()
    }

    /// The draft methods this engine can verify.
    public var draftMethods: Set<DraftMethod> { Set(drafters.keys) }

    /// Bytes of one KV block, the unit of `importedKV`.
    public var kvBlockBytes: Int { cache.blockBytes }

    /// The state after the last step.
    public var snapshot: Snapshot { latest.withLock { $0 } }

    /// The prefix hashes of the full blocks in the KV cache after the last step.
    public var cachedPrefixHashes: [UInt64] { latestPrefixes.withLock { $0 } }

    /// Queues a generation; returns its sequence id (for `cancel`) and its events.
    ///
    /// With `importedKV` (bytes of `PagedKVCache.exportBlocks` for the first
    /// `request.precomputedTokens` tokens, from a prefill worker), those tokens are imported on
    /// admission instead of computed.
    public func submit(_ request: DecodeRequest, sampling: SamplingParameters, importedKV: [[UInt8]]? = nil) -> (id: Int, events: AsyncStream<GenerationEvent>) {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self, bufferingPolicy: .unbounded)
        inbox.lock()
        let id = pending.nextID
        pending.nextID += 1
        pending.arrivals.append(Arrival(id: id, request: request, sampling: sampling, importedKV: importedKV, continuation: continuation))
        inbox.signal()
        inbox.unlock()
        return (id, stream)
    }

    /// Stops a sequence before the next step and frees its blocks; its stream ends with `finished(.cancelled)`.
    public func cancel(_ id: Int) {
        inbox.lock()
        pending.cancels.append(id)
        inbox.signal()
        inbox.unlock()
    }

    // MARK: the step loop

    private func loop() {
        while true {
            inbox.lock()
            while pending.arrivals.isEmpty && pending.cancels.isEmpty && !pending.stopping && !scheduler.hasWork { inbox.wait() }
            let arrivals = pending.arrivals, cancels = pending.cancels, stopping = pending.stopping
            pending.arrivals.removeAll()
            pending.cancels.removeAll()
            inbox.unlock()

            for arrival in arrivals { admit(arrival) }
            for id in cancels {
                if let event = scheduler.cancel(id) { deliver(event) }
            }
            if stopping {
                for id in Array(sinks.keys) {
                    _ = scheduler.cancel(id)
                    fail(id, "the decode worker is shutting down")
                }
                return
            }
            guard scheduler.hasWork else { publish(idle: true); continue }
            step()
        }
    }

    private func admit(_ arrival: Arrival) {
        sinks[arrival.id] = (arrival.continuation, arrival.sampling)
        if let kv = arrival.importedKV, arrival.request.precomputedTokens > 0 { imports[arrival.id] = kv }
        do {
            let text = StreamingDetokenizer(tokenizer: tokenizer)
            for event in try scheduler.add(id: arrival.id, request: arrival.request, text: text) { deliver(event) }
        } catch {
            arrival.continuation.yield(.failed(message: "\(error)", invalidRequest: error is DecodeAdmissionError))
            arrival.continuation.finish()
            sinks[arrival.id] = nil
            imports[arrival.id] = nil
        }
    }

    private func step() {
        let proposals = draftProposals()
        let step = scheduler.schedule(proposals: proposals.mapValues { $0.map { $0.map(\.token) } })
        for id in step.preempted { cache.release(id) }
        preemptions += step.preempted.count
        var accepted: [Int: [Int32]] = [:]
        // Alternative candidate chains' cache forks, by sequence and chain (nil: not forked);
        // all of them end with the step.
        var forks: [Int: [Int?]] = [:]
        var nextFork = -1
        defer { for id in forks.values.joined() { if let id { cache.release(id) } } }
        do {
            var requests: [ForwardRequest] = []
            var requestOfItem: [Int: Int] = [:]
            for (i, item) in step.items.enumerated() {
                var tokens = item.tokens
                if item.startsSequence && item.importedTokens > 0 {
                    // Keys and values a prefill worker computed: copied in, not computed.
                    guard let kv = imports.removeValue(forKey: item.sequence) else { throw KVCacheError.badImport("no imported blocks for sequence \(item.sequence)") }
                    let tokens = Array(scheduler.sequences[item.sequence]!.tokens[0..<item.importedTokens])
                    try cache.importBlocks(item.sequence, tokens: tokens, blobs: kv)
                    importedTokens += item.importedTokens
                } else if item.startsSequence {
                    // Prefix caching: full blocks of this chunk that some sequence already computed
                    // (a shared system prompt, or this one's own blocks before a preemption) are
                    // adopted instead of recomputed. At least the chunk's last token is computed,
                    // and the keys and values are the same bits, so the output does not change.
                    let cached = try cache.createSequence(item.sequence, prompt: item.tokens)
                    tokens.removeFirst(cached)
                    if cached > 0 { sinks[item.sequence]?.continuation.yield(.prefixCached(tokens: cached)) }
                    prefixCachedTokens += cached
                }
                requestOfItem[i] = requests.count
                // A verified draft needs the logits after the token before it and after itself.
                let logitIndices = item.samples ? Array(tokens.count - 1 - item.draftedTokens..<tokens.count) : []
                requests.append(ForwardRequest(sequence: item.sequence, tokens: tokens, logitIndices: logitIndices))
                // Each alternative chain extends a fork: the last token again, then the chain. A
                // chain whose fork fails is not verified; the others still are.
                let last = tokens[tokens.count - 1 - item.draftedTokens]
                for chain in item.alternativeDrafts {
                    let id = nextFork
                    nextFork -= 1
                    let forked = (try? cache.fork(item.sequence, into: id)) != nil
                    forks[item.sequence, default: []].append(forked ? id : nil)
                    if forked { requests.append(ForwardRequest(sequence: id, tokens: [last] + chain, logitIndices: Array(0...chain.count))) }
                }
            }
            let logits = try model.forward(requests, cache: cache)
            for (i, item) in step.items.enumerated() where item.samples {
                let history = scheduler.sequences[item.sequence]!.tokens
                let sampling = sinks[item.sequence]!.sampling
                let first = requestOfItem[i]!
                if item.draftedTokens == 0 {
                    accepted[item.sequence] = [Sampler.sample(logits: logits[first][0], history: history, parameters: sampling, position: history.count)]
                    continue
                }
                // Chain 0 rides in the sequence's own request, the forked ones in the requests after it.
                let offered = proposals[item.sequence]!
                var chains = [Array(offered[0].prefix(item.draftedTokens))], rows = [logits[first]], forkOfChain: [Int?] = [nil]
                var next = first + 1
                for (j, fork) in (forks[item.sequence] ?? []).enumerated() {
                    guard let fork else { continue }
                    chains.append(Array(offered[j + 1].prefix(item.alternativeDrafts[j].count)))
                    rows.append(logits[next])
                    forkOfChain.append(fork)
                    next += 1
                }
                let tokens = Self.verify(chains: chains, logits: rows, history: history, sampling: sampling)
                accepted[item.sequence] = tokens
                // The accepted drafts' keys and values are in the chain that proposed them; when
                // that is a fork, the sequence takes the fork's blocks.
                let kept = tokens.dropLast()
                if let holder = chains.firstIndex(where: { $0.map(\.token).starts(with: kept) }), let fork = forkOfChain[holder] {
                    try cache.replace(item.sequence, with: fork)
                }
            }
        } catch {
            // A model or cache failure is a bug: fail the step's sequences, keep serving the others.
            scheduler.abandon(step)
            for item in step.items {
                _ = scheduler.cancel(item.sequence)
                fail(item.sequence, "decode step failed: \(error)")
            }
            steps += 1
            publish(idle: !scheduler.hasWork)
            return
        }
        steps += 1
        for item in step.items where item.draftedTokens > 0 {
            let n = accepted[item.sequence]!.count - 1
            speculation.add(drafted: item.draftedPositions, accepted: n)
            speculationBySequence[item.sequence, default: SpeculationStats()].add(drafted: item.draftedPositions, accepted: n)
        }
        let events = scheduler.update(step, accepted: accepted)
        // Rejected drafts' keys and values go; a finished sequence's cache goes when it is delivered.
        for item in step.items where item.draftedTokens > 0 {
            guard let s = scheduler.sequences[item.sequence] else { continue }
            do {
                try cache.truncate(item.sequence, toTokenCount: s.computedTokens)
            } catch {
                _ = scheduler.cancel(item.sequence)
                fail(item.sequence, "rolling back rejected drafts failed: \(error)")
            }
        }
        for event in events { deliver(event) }
        publish(idle: !scheduler.hasWork)
    }

    /// Drafts for the sequences the scheduler lets speculate, from each one's method. A drafter
    /// that fails costs its sequences this step's drafts, nothing else.
    private func draftProposals() -> [Int: [[DraftToken]]] {
        let wanted = scheduler.draftRequests()
        guard !wanted.isEmpty else { return [:] }
        var byMethod: [DraftMethod: [DraftRequest]] = [:]
        for (id, count) in wanted {
            guard let settings = scheduler.sequences[id]?.speculation, drafters[settings.method] != nil, let sink = sinks[id] else { continue }
            byMethod[settings.method, default: []].append(DraftRequest(sequence: id, context: scheduler.sequences[id]!.tokens, count: count,
                                                                       sampling: sink.sampling, draftAhead: settings.draftAhead,
                                                                       candidates: settings.drafts))
        }
        var out: [Int: [[DraftToken]]] = [:]
        for (method, requests) in byMethod {
            guard let proposed = try? drafters[method]!.proposeCandidates(requests) else { continue }
            out.merge(proposed.filter { !($0.value.first?.isEmpty ?? true) }) { a, _ in a }
        }
        return out
    }

    /// The accepted drafts and the target's next token, from candidate chains and the target's
    /// logits along each (`logits[c][j]`: after the sequence plus `chains[c][0..<j]`, so
    /// `chains[c].count + 1` rows): greedy verification when greedy (byte-identical to plain
    /// decoding), else the rejection rule keyed by the token positions (several chains: token-tree
    /// verification, `SpeculativeVerifier`).
    static func verify(chains: [[DraftToken]], logits: [[[Float]]], history: [Int32], sampling: SamplingParameters) -> [Int32] {
        let tokens = chains.map { $0.map(\.token) }
        func row(after accepted: [Int32]) -> [Float] {
            let c = tokens.firstIndex { $0.starts(with: accepted) }!
            return logits[c][accepted.count]
        }
        if sampling.temperature <= 0 {
            return SpeculativeVerifier.greedy(candidates: tokens) { accepted in
                Sampler.sample(logits: row(after: accepted), history: history + accepted, parameters: sampling, position: history.count + accepted.count)
            }
        }
        return SpeculativeVerifier.verify(candidates: chains, seed: sampling.seed, position: history.count) { accepted in
            Sampler.distribution(logits: row(after: accepted), history: history + accepted, parameters: sampling)
        }
    }

    private func deliver(_ event: DecodeEvent) {
        switch event {
        case .token(let id, let index, let token, let text, let finish):
            guard let sink = sinks[id] else { return }
            sink.continuation.yield(.token(index: index, token: token, text: text))
            if let finish { end(id, finish, text: "") }
        case .finished(let id, let reason, let text):
            end(id, reason, text: text)
        }
    }

    private func end(_ id: Int, _ reason: FinishReason, text: String) {
        cache.release(id)
        imports[id] = nil
        var stats = speculationBySequence.removeValue(forKey: id)
        if let remote = drafters.values.lazy.compactMap({ $0 as? RemoteDrafter }).first {
            let rounds = remote.pool.rounds(of: id)
            // A sequence that never verified has stats only to say no drafter was there for it.
            if stats == nil, rounds.undrafted > 0 { stats = SpeculationStats() }
            stats?.remoteRounds = rounds.all
            stats?.predraftedRounds = rounds.predrafted
            stats?.remoteWaitMilliseconds = Double(rounds.waitMicroseconds) / 1000
            stats?.undraftedRounds = rounds.undrafted
        }
        for drafter in drafters.values { drafter.release(id) }
        guard let sink = sinks.removeValue(forKey: id) else { return }
        if let stats { sink.continuation.yield(.speculation(stats)) }
        sink.continuation.yield(.finished(reason, text: text, engine: currentSnapshot()))
        sink.continuation.finish()
    }

    private func fail(_ id: Int, _ message: String) {
        cache.release(id)
        imports[id] = nil
        for drafter in drafters.values { drafter.release(id) }
        speculationBySequence[id] = nil
        guard let sink = sinks.removeValue(forKey: id) else { return }
        sink.continuation.yield(.failed(message: message, invalidRequest: false))
        sink.continuation.finish()
    }

    private func currentSnapshot() -> Snapshot {
        Snapshot(running: scheduler.running.count, waiting: scheduler.waiting.count, freeBlocks: cache.freeBlockCount,
                 totalBlocks: cache.blockCount, steps: steps, preemptions: preemptions,
                 prefixCachedTokens: prefixCachedTokens, importedTokens: importedTokens, speculation: speculation)
    }

    /// Publishes the snapshot; the prefix hashes (a copy of the cache's index, read only by the
    /// heartbeat) at most every 100 ms while stepping, and always when the loop goes idle.
    private func publish(idle: Bool) {
        let s = currentSnapshot()
        latest.withLock { $0 = s }
        let now = ContinuousClock.now
        guard idle || now - prefixesPublishedAt >= .milliseconds(100) else { return }
        prefixesPublishedAt = now
        let prefixes = cache.cachedPrefixHashes
        latestPrefixes.withLock { $0 = prefixes }
    }
}
