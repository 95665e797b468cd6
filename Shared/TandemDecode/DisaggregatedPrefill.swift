import Foundation
import TandemClient
import TandemModel

/// The decode worker's side of disaggregated prefill: for a long prompt, submit a `prefill` job
/// through the router (which picks the prefill worker), and take the KV blocks that the prefill
/// worker sends straight to this worker's data-plane socket.
///
/// It prefers prefilling in place — returns nil — when the prompt is shorter than
/// `minimumPromptTokens`, when no prefill worker is registered, when the prefill queue already
/// holds as many jobs as the prefill workers' capacity, or when anything fails.
public final class DisaggregatedPrefill: Sendable {
    public let routerEndpoint: String
    public let minimumPromptTokens: Int
    public let inbox: KVHandoffInbox
    /// Says why a prompt that could have gone to a prefill worker was prefilled in place.
    public let onFallback: @Sendable (String) -> Void

    public init(routerEndpoint: String, minimumPromptTokens: Int, inbox: KVHandoffInbox, onFallback: @escaping @Sendable (String) -> Void = { _ in }) {
        self.routerEndpoint = routerEndpoint
        self.minimumPromptTokens = minimumPromptTokens
        self.inbox = inbox
        self.onFallback = onFallback
    }

    public struct Outcome: Sendable {
        public var handoff: KVHandoff
        /// The prefill job's result (worker, timings), which may still be on its way through the
        /// router: the sequence starts as soon as the blocks are in, and reads this afterwards.
        public var result: Task<PrefillResult?, Never>

        /// The prefill job's result if it arrives within `timeout` (it normally has long before
        /// the generation ends).
        public func resultWithin(_ timeout: Duration) async -> PrefillResult? {
            await withTaskGroup(of: PrefillResult?.self) { group in
                group.addTask { await result.value }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
        }
    }

    /// The prompt's KV blocks and first token from a prefill worker, or nil to prefill in place.
    /// `placedRemotely`: the router decided (it knows the prompt's cached prefix and the prefill
    /// queue), so the length threshold does not apply.
    public func prefill(prompt: [Int32], sampling: SamplingParameters, priority: Int32, placedRemotely: Bool = false) async -> Outcome? {
        guard placedRemotely || (minimumPromptTokens > 0 && prompt.count >= minimumPromptTokens) else { return nil }
        let handoff = UUID().uuidString
        let params = PrefillParameters(tokens: prompt, sampling: sampling, decodeEndpoint: inbox.endpoint, handoff: handoff)
        let endpoint = routerEndpoint
        let job = Task<Result<PrefillResult, Fallback>, Never> {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: Self.runJob(params, priority: priority, routerEndpoint: endpoint, checkQueue: !placedRemotely)) }
                thread.name = "tandem-decode-prefill"
                thread.start()
            }
        }
        // Whichever comes first: the blocks (the job's final reply follows through the router and
        // the job store, which the first token need not wait for), or the job's failure.
        enum First: Sendable { case blocks(KVHandoff?), failed(String) }
        let first = await withTaskGroup(of: First.self) { group in
            // The blocks may take as long as the prompt waits and computes; the job bounds that.
            group.addTask { .blocks(await self.inbox.take(handoff, timeout: .seconds(600))) }
            group.addTask {
                if case .failure(let why) = await job.value { return .failed(why.reason) }
                // Acknowledged before the job succeeded, so the blocks are here or lost.
                try? await Task.sleep(for: .seconds(10))
                return .failed("the KV blocks of handoff \(handoff) did not arrive")
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        switch first {
        case .failed(let reason):
            onFallback(reason)
            return nil
        case .blocks(nil):
            onFallback("the KV blocks of handoff \(handoff) did not arrive")
            return nil
        case .blocks(let blocks?):
            guard blocks.tokens == prompt else {
                onFallback("the KV blocks of handoff \(handoff) do not match the prompt")
                return nil
            }
            return Outcome(handoff: blocks, result: Task { try? await job.value.get() })
        }
    }

    /// Submits the prefill job and follows it to its end (blocking; on its own thread).
    struct Fallback: Error { var reason: String }

    /// `checkQueue`: ask the router for the prefill queue first (when the router did not place it).
    static func runJob(_ params: PrefillParameters, priority: Int32, routerEndpoint: String, checkQueue: Bool) -> Result<PrefillResult, Fallback> {
        do {
            let client = try RouterClient(configuration: .init(routerEndpoint: routerEndpoint, replyTimeoutMilliseconds: 5000))
            if checkQueue {
                let answer = try client.query(.queues) as? [String: Any]
                guard let queue = (answer?["queues"] as? [[String: Any]])?.first(where: { $0["service"] as? String == "prefill" }),
                      let workers = queue["workers"] as? Int, workers > 0 else { return .failure(Fallback(reason: "no prefill worker")) }
                let queued = queue["queued"] as? Int ?? 0, capacity = queue["capacity"] as? Int ?? workers
                guard queued < capacity else { return .failure(Fallback(reason: "the prefill queue is long (\(queued) queued)")) }
            }
            let body = String(decoding: try JSONEncoder().encode(params), as: UTF8.self)
            let job = try client.submit(kind: "prefill", params: body, priority: priority, maxAttempts: 1, stream: true)
            let final = try client.follow(job, timeoutMilliseconds: 60_000)
            guard final.state == "succeeded", let text = final.result else {
                return .failure(Fallback(reason: "prefill job \(final.state): \(final.code ?? "") \(final.error ?? "")"))
            }
            return .success(try JSONDecoder().decode(PrefillResult.self, from: Data(text.utf8)))
        } catch {
            return .failure(Fallback(reason: "prefill through the router at \(routerEndpoint) failed: \(error)"))
        }
    }
}
