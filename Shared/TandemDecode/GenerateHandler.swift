import Foundation
import TandemModel
import TandemService
import TandemWire

/// The `decode` service's job handler: a `generate` job becomes a sequence of the worker's one
/// `DecodeEngine`; its tokens stream back as partials (`seq` = token index) and the job ends
/// with a `GenerateResult`.
public struct GenerateHandler: JobHandler {
    public let provider: DecodeEngineProvider
    /// Reported in results (the CLI's summary line names it).
    public let workerName: String
    /// Long prompts go to a prefill worker when this is set (and one is registered).
    public let disaggregated: DisaggregatedPrefill?

    public init(provider: DecodeEngineProvider, workerName: String, disaggregated: DisaggregatedPrefill? = nil) {
        self.provider = provider
        self.workerName = workerName
        self.disaggregated = disaggregated
    }

    /// The KV cache's state for the router's routing (reported with each heartbeat).
    public var load: WorkerLoad? {
        guard let engine = provider.loadedEngine else { return nil }
        let s = engine.snapshot
        let pool = provider.settings.draftPool?.currentCounters
        return WorkerLoad(freeBlocks: s.freeBlocks, totalBlocks: s.totalBlocks, blockSizeTokens: engine.configuration.blockSizeTokens,
                          runningSequences: s.running, waitingSequences: s.waiting, prefixHashes: engine.cachedPrefixHashes,
                          speculation: .init(verifications: s.speculation.verifications, draftedTokens: s.speculation.draftedTokens,
                                             acceptedTokens: s.speculation.acceptedTokens, remoteRounds: pool?.answered ?? 0,
                                             unansweredRounds: pool?.unanswered ?? 0))
    }

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        let arrived = ContinuousClock.now
        let params = try job.decodeParams(GenerateParameters.self)
        do {
            try params.validate()
        } catch {
            throw JobFailure(code: "invalid_params", message: error.description, retryable: false)
        }
        let engine = try provider.engine()
        let prompt: [Int32]
        do {
            prompt = try params.promptTokens(tokenizer: engine.tokenizer)
        } catch {
            throw JobFailure(code: "invalid_params", message: error.description, retryable: false)
        }
        // Tokens an earlier attempt streamed: from the params, else from the router's ledger (one
        // partial per token, each `{"text", "ids"}`), so a retried generation re-prefills them
        // instead of generating them again.
        let resumed = params.resumeTokens ?? Self.ledgerTokens(job.ledger)
        guard prompt.count + resumed.count <= engine.contextTokens else {
            throw JobFailure(code: "invalid_params", message: "\(DecodeAdmissionError.promptTooLong(tokens: prompt.count + resumed.count, contextTokens: engine.contextTokens))", retryable: false)
        }
        let maxTokens = params.maxTokens ?? GenerateParameters.defaultMaxTokens
        let speculation = params.speculation
        if let method = speculation?.method, !engine.draftMethods.contains(method) {
            throw JobFailure(code: "invalid_params", message: "this decode worker cannot draft with `\(method.rawValue)` (it has \(engine.draftMethods.map(\.rawValue).sorted().joined(separator: ", ")))", retryable: false)
        }
        var request = DecodeRequest(prompt: prompt, resumed: resumed, maxTokens: maxTokens, priority: job.priority, stops: params.stop ?? [],
                                    speculation: speculation)
        var ids = resumed
        var text = Self.replayedText(resumed, tokenizer: engine.tokenizer, stops: params.stop ?? [])
        var firstToken: ContinuousClock.Instant?

        // Disaggregated prefill: a prefill worker computes the prompt and the first token and
        // sends the KV blocks here; the sequence then starts with them imported.
        var importedKV: [[UInt8]]?
        var prefillInfo: GenerateResult.Prefill?
        var prefilled: DisaggregatedPrefill.Outcome?
        if resumed.isEmpty, maxTokens > 1, job.prefill != .local, let disaggregated {
            // The router's placement when it routed this generation, else this worker's threshold.
            prefilled = await disaggregated.prefill(prompt: prompt, sampling: params.sampling, priority: job.priority,
                                                    placedRemotely: job.prefill == .remote)
            if let o = prefilled, o.handoff.blockBytes != engine.kvBlockBytes || o.handoff.blockSizeTokens != engine.configuration.blockSizeTokens {
                context.logger.warning("prefilling in place: the prefill worker's KV blocks have another layout (\(o.handoff.blockBytes) bytes, \(o.handoff.blockSizeTokens) tokens; here \(engine.kvBlockBytes), \(engine.configuration.blockSizeTokens))")
                prefilled = nil
            }
        }
        if let outcome = prefilled {
            let first = outcome.handoff.firstToken
            request = DecodeRequest(prompt: prompt, resumed: [first], maxTokens: maxTokens, priority: job.priority, stops: params.stop ?? [],
                                    precomputedTokens: prompt.count, speculation: speculation)
            importedKV = outcome.handoff.blobs
            firstToken = .now
            let piece = Self.replayedText([first], tokenizer: engine.tokenizer, stops: params.stop ?? [])
            ids = [first]
            text = piece
            context.emit(seq: 0, data: String(decoding: try JSONEncoder().encode(GeneratePartial(text: piece, ids: [first])), as: UTF8.self))
        }
        let (id, events) = engine.submit(request, sampling: params.sampling, importedKV: importedKV)

        var outcome: (FinishReason, DecodeEngine.Snapshot)?
        var cachedPromptTokens: Int?
        var speculated: SpeculationStats?
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        try await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .token(let index, let token, let piece):
                    if firstToken == nil { firstToken = .now }
                    ids.append(token)
                    text += piece
                    let data = try encoder.encode(GeneratePartial(text: piece, ids: [token]))
                    context.emit(seq: Int64(index), data: String(decoding: data, as: UTF8.self))
                case .speculation(let stats):
                    speculated = stats
                case .prefixCached(let tokens):
                    if cachedPromptTokens == nil { cachedPromptTokens = tokens }
                case .finished(let reason, let piece, let snapshot):
                    text += piece
                    outcome = (reason, snapshot)
                case .failed(let message, let invalid):
                    throw JobFailure(code: invalid ? "invalid_params" : "worker_failed", message: message, retryable: !invalid)
                }
            }
        } onCancel: {
            engine.cancel(id)
        }
        guard let (reason, snapshot) = outcome, reason != .cancelled else { throw CancellationError() }

        let end = ContinuousClock.now
        // After the generation, so that checksumming the received bytes delays no token.
        if let outcome = prefilled {
            let job = await outcome.resultWithin(.seconds(5))
            prefillInfo = .init(worker: job?.worker ?? "unknown", computeMilliseconds: job?.computeMilliseconds ?? 0,
                                transferMilliseconds: job?.transferMilliseconds, tailBytes: job?.tailBytes,
                                arrivalMilliseconds: outcome.handoff.computedAtMicroseconds.flatMap { computed in
                                    outcome.handoff.arrivedAtMicroseconds.map { Double($0 - computed) / 1000 }
                                },
                                bytes: outcome.handoff.byteCount,
                                checksum: outcome.handoff.checksum, batchPrompts: job?.batchPrompts ?? 1)
        }
        let first = firstToken ?? end
        let decoded = ids.count - resumed.count
        let decodeSeconds = Self.seconds(end - first)
        let result = GenerateResult(
            text: text, ids: ids, promptTokens: prompt.count, cachedPromptTokens: cachedPromptTokens ?? 0,
            completionTokens: ids.count, resumedTokens: resumed.count, prefill: prefillInfo,
            finishReason: reason.rawValue, worker: workerName,
            timings: .init(ttftMilliseconds: Self.seconds(first - arrived) * 1000, totalMilliseconds: Self.seconds(end - arrived) * 1000,
                           decodeTokensPerSecond: decoded > 1 && decodeSeconds > 0 ? Double(decoded - 1) / decodeSeconds : 0),
            kv: .init(freeBlocks: snapshot.freeBlocks, totalBlocks: snapshot.totalBlocks, running: snapshot.running, waiting: snapshot.waiting),
            speculation: speculated ?? (speculation != nil ? SpeculationStats() : nil))
        return JobOutcome(result: String(decoding: try encoder.encode(result), as: UTF8.self))
    }

    /// The text the resumed tokens had produced (what the client already received).
    static func replayedText(_ tokens: [Int32], tokenizer: BPETokenizer, stops: [String]) -> String {
        guard !tokens.isEmpty else { return "" }
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var matcher = StopStringMatcher(stops: stops)
        var text = ""
        for token in tokens where !tokenizer.isEndOfGeneration(token) { text += matcher.feed(detokenizer.append(token)).emit }
        return text
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The token ids in a generation's ledger, or none if any entry cannot be read (then the
    /// generation starts over, which gives the same output, only later).
    static func ledgerTokens(_ ledger: [String?]) -> [Int32] {
        var tokens: [Int32] = []
        for entry in ledger {
            guard let entry, let object = (try? JSONSerialization.jsonObject(with: Data(entry.utf8))) as? [String: Any],
                  let ids = object["ids"] as? [Int] else { return [] }
            tokens += ids.map { Int32(truncatingIfNeeded: $0) }
        }
        return tokens
    }
}
