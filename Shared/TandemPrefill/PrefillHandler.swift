import Foundation
import Synchronization
import TandemDecode
import TandemModel
import TandemService
import TandemTransport

/// The `prefill` service's job handler: computes a prompt's keys and values (in chunks),
/// samples the first token, sends the KV blocks straight to the decode worker named in the
/// params over its data-plane socket, waits for its acknowledgement, and reports to the router.
///
/// Prompts that wait are computed together: each job queues its prompt and starts a thread that
/// takes the compute lock; whoever holds it takes every queued prompt and runs them as one batch
/// (one forward call per chunk of `chunkTokens` tokens across all of them, each prompt its own
/// sequence). The lock also guards the data-plane sockets (one DEALER per decode endpoint;
/// ZeroMQ allows a socket to change threads across such a barrier). The compute runs on plain
/// threads, never on a Swift concurrency or libdispatch worker.
public final class PrefillHandler: JobHandler, @unchecked Sendable {
    public let modelName: String
    public let threads: Int
    public let workerName: String
    /// Tokens per forward call (the chunk size of long prompts).
    public let chunkTokens: Int
    /// The fewest of a long prompt's last tokens computed in a call of their own, so that only their
    /// blocks are sent after the compute ends (the rest streams while earlier chunks compute). The
    /// tail starts on a block boundary, so those are one or two blocks; a shorter tail call would
    /// leave the previous chunk's blocks (up to 12 MB) too little time to drain ahead of it.
    public let tailTokens: Int
    public let blockSizeTokens = 16

    private struct Waiting {
        var params: PrefillParameters
        var continuation: CheckedContinuation<Result<PrefillResult, Error>, Never>
    }

    private let queued = Mutex<[Waiting]>([])
    private let lock = NSLock()
    // Guarded by `lock`.
    private var model: LlamaModel?
    private let context = ZMQContext()
    private var sockets: [String: ZMQSocket] = [:]
    /// Acknowledged handoffs not yet awaited (a batch's acknowledgements may come in any order).
    private var acknowledged: Set<String> = []

    public init(modelName: String, threads: Int, workerName: String, chunkTokens: Int = 256, tailTokens: Int = 16) {
        self.modelName = modelName; self.threads = threads; self.workerName = workerName; self.chunkTokens = chunkTokens
        self.tailTokens = max(1, tailTokens)
    }

    /// Closes the sockets before the context goes: terminating a ZeroMQ context waits for its
    /// open sockets, so the process would hang at exit.
    deinit {
        for socket in sockets.values { socket.close() }
    }

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        let params = try job.decodeParams(PrefillParameters.self)
        guard !params.tokens.isEmpty else { throw JobFailure(code: "invalid_params", message: "no tokens", retryable: false) }
        let result: Result<PrefillResult, Error> = await withCheckedContinuation { continuation in
            queued.withLock { $0.append(Waiting(params: params, continuation: continuation)) }
            let thread = Thread { self.computeQueued() }
            thread.name = "tandem-prefill"
            thread.start()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return JobOutcome(result: String(decoding: try encoder.encode(try result.get()), as: UTF8.self))
    }

    /// Loads the model now rather than on the first job (a missing model is reported per job).
    public func preload(onFailure: @escaping @Sendable (Error) -> Void) {
        Thread {
            self.lock.withLock {
                do { _ = try self.loadedModel() } catch { onFailure(error) }
            }
        }.start()
    }

    /// Loads the model once (under the lock).
    private func loadedModel() throws -> LlamaModel {
        if let model { return model }
        let path: String
        do {
            path = try ModelStore().resolve(modelName)
        } catch {
            throw JobFailure(code: "worker_failed", message: "model missing: \(error) (run `tandem models pull \(ModelCatalog.defaultModel.name)`)", retryable: false)
        }
        let made = try LlamaModel(path: path, threads: threads)
        model = made
        return made
    }

    /// Takes every queued prompt and computes them as one batch (a no-op when another thread
    /// already took them).
    private func computeQueued() {
        lock.withLock {
            let batch = queued.withLock { list -> [Waiting] in
                defer { list.removeAll() }
                return list
            }
            guard !batch.isEmpty else { return }
            let results = prefill(batch.map(\.params))
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
        }
    }

    /// Computes the prompts together, samples each one's first token and sends each one's blocks:
    /// the blocks a chunk filled go out while the next chunk computes, so only the last chunk's
    /// blocks (one or two blocks of a long prompt's tail) travel after the compute.
    private func prefill(_ batch: [PrefillParameters]) -> [Result<PrefillResult, Error>] {
        let model: LlamaModel
        do { model = try loadedModel() } catch { return batch.map { _ in .failure(error) } }
        var results: [Result<PrefillResult, Error>?] = batch.map { params in
            params.tokens.count <= model.config.contextLength ? nil : .failure(JobFailure(
                code: "invalid_params", message: "the prompt is \(params.tokens.count) tokens; the context holds \(model.config.contextLength)", retryable: false))
        }
        var members = batch.indices.filter { results[$0] == nil }
        let started = ContinuousClock.now
        let cache = PagedKVCache(config: model.config, capacityTokens: members.reduce(0) { $0 + batch[$1].tokens.count + blockSizeTokens },
                                 blockSizeTokens: blockSizeTokens)
        var done = Array(repeating: 0, count: batch.count)
        var sentBlocks = Array(repeating: 0, count: batch.count)
        var checksums = Array(repeating: KVChecksum(), count: batch.count)
        var logits: [Int: [Float]] = [:]
        do {
            for i in members { try cache.createSequence(i) }
            // Chunks of at most `chunkTokens` tokens per forward call, across the prompts.
            while members.contains(where: { done[$0] < batch[$0].tokens.count }) {
                var budget = chunkTokens
                var requests: [ForwardRequest] = []
                for i in members where budget > 0 && done[i] < batch[i].tokens.count {
                    let count = batch[i].tokens.count, remaining = count - done[i]
                    var n = min(budget, remaining)
                    // A long prompt's tail (its last `tailTokens`, from the block boundary before
                    // them) gets a forward call of its own.
                    let tailStart = (count - tailTokens) / blockSizeTokens * blockSizeTokens
                    if count >= 4 * tailTokens && done[i] < tailStart { n = min(n, tailStart - done[i]) }
                    let last = done[i] + n == count
                    requests.append(ForwardRequest(sequence: i, tokens: Array(batch[i].tokens[done[i]..<done[i] + n]), logitIndices: last ? [n - 1] : []))
                    done[i] += n
                    budget -= n
                }
                let out = try model.forward(requests, cache: cache)
                for (request, rows) in zip(requests, out) where !rows.isEmpty { logits[request.sequence] = rows[0] }
                // Full blocks of prompts with more to compute are final: send them now.
                for request in requests where done[request.sequence] < batch[request.sequence].tokens.count {
                    let i = request.sequence, full = done[i] / blockSizeTokens
                    guard full > sentBlocks[i] else { continue }
                    do {
                        try send(KVHandoff(handoff: batch[i].handoff, tokens: batch[i].tokens, blockSizeTokens: blockSizeTokens,
                                           blockBytes: cache.blockBytes, firstToken: 0, blobs: [], firstBlock: sentBlocks[i], final: false),
                                 blocksTo: full, of: i, in: cache, to: batch[i].decodeEndpoint)
                        try cache.forEachBlock(i, from: sentBlocks[i], to: full) { checksums[i].add($0) }
                        sentBlocks[i] = full
                    } catch {
                        results[i] = .failure(error)
                        cache.release(i)
                        members.removeAll { $0 == i }
                    }
                }
            }
        } catch {
            for i in members { results[i] = .failure(error) }
            return results.map { $0! }
        }
        var firstTokens: [Int: Int32] = [:]
        for i in members {
            firstTokens[i] = Sampler.sample(logits: logits[i]!, history: batch[i].tokens, parameters: batch[i].sampling, position: batch[i].tokens.count)
        }
        let computed = ContinuousClock.now, computedAt = KVHandoff.nowMicroseconds
        let computeMilliseconds = Self.milliseconds(computed - started)
        // Every prompt's final part goes out before any acknowledgement is awaited, so the prompts
        // of a batch do not wait for one another's round trips.
        var tailBlocks: [Int: Int] = [:]
        for i in members {
            let params = batch[i]
            do {
                let blocks = (params.tokens.count + blockSizeTokens - 1) / blockSizeTokens
                try send(KVHandoff(handoff: params.handoff, tokens: params.tokens, blockSizeTokens: blockSizeTokens, blockBytes: cache.blockBytes,
                                   firstToken: firstTokens[i]!, blobs: [], firstBlock: sentBlocks[i], final: true,
                                   computedAtMicroseconds: computedAt),
                         blocksTo: blocks, of: i, in: cache, to: params.decodeEndpoint)
                tailBlocks[i] = blocks
            } catch {
                results[i] = .failure(error)
            }
        }
        for i in members {
            defer { cache.release(i) }
            guard let blocks = tailBlocks[i] else { continue }
            let params = batch[i]
            results[i] = Result {
                try awaitAcknowledgement(of: params.handoff, from: params.decodeEndpoint)
                let transferMilliseconds = Self.milliseconds(ContinuousClock.now - computed)
                try cache.forEachBlock(i, from: sentBlocks[i], to: blocks) { checksums[i].add($0) }
                return PrefillResult(firstToken: firstTokens[i]!, tokens: params.tokens.count, bytes: blocks * cache.blockBytes,
                                     checksum: checksums[i].hex, computeMilliseconds: computeMilliseconds, transferMilliseconds: transferMilliseconds,
                                     tailBytes: (blocks - sentBlocks[i]) * cache.blockBytes, worker: workerName, batchPrompts: members.count)
            }
        }
        return results.map { $0! }
    }

    /// The DEALER socket to a decode worker's data-plane endpoint (one per endpoint, kept).
    private func socket(to endpoint: String) throws -> ZMQSocket {
        if let existing = sockets[endpoint] { return existing }
        let socket = try ZMQSocket(context: context, kind: .dealer)
        try socket.applyProtocolLimits()
        try socket.connect(endpoint)
        sockets[endpoint] = socket
        return socket
    }

    /// Queues one part of a handoff: `part`'s fields with the sequence's blocks from
    /// `part.firstBlock` to `end`, copied from the cache straight into ZeroMQ's message buffers
    /// (ZeroMQ sends them from its I/O thread while this one computes).
    private func send(_ part: KVHandoff, blocksTo end: Int, of sequence: Int, in cache: PagedKVCache, to endpoint: String) throws {
        let perBlob = KVHandoffMessage.blocksPerBlob(blockBytes: cache.blockBytes)
        let blobStarts = Array(stride(from: part.firstBlock, to: end, by: perBlob))
        try socket(to: endpoint).send(KVHandoffMessage.blocks(part).frames, filling: blobStarts.map { (min($0 + perBlob, end) - $0) * cache.blockBytes }) { i, buffer in
            try cache.exportBlocks(sequence, from: blobStarts[i], to: min(blobStarts[i] + perBlob, end), into: buffer)
        }
    }

    /// Waits (up to 10 s) for the decode worker's acknowledgement of a handoff's final part;
    /// acknowledgements of other handoffs of the batch that arrive meanwhile are kept for their turn.
    private func awaitAcknowledgement(of handoff: String, from endpoint: String) throws {
        if acknowledged.remove(handoff) != nil { return }
        let socket = try socket(to: endpoint)
        var poller = Poller([.socket(socket)])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let received = try socket.receive(wait: false), case .frames(let frames) = received {
                if case .ack(let id)? = try? KVHandoffMessage(frames: frames) {
                    if id == handoff { return }
                    acknowledged.insert(id)
                }
                continue
            }
            _ = try poller.poll(timeoutMilliseconds: 100)
        }
        // Drop the socket: its queue may hold the unacknowledged message.
        sockets[endpoint]?.close()
        sockets[endpoint] = nil
        throw JobFailure(code: "worker_failed", message: "the decode worker at \(endpoint) did not acknowledge the KV blocks", retryable: false)
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    }
}
