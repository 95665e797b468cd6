import Foundation
import TandemDecode
import TandemModel
import TandemService
import TandemTransport

/// The `prefill` service's job handler: computes a prompt's keys and values (in chunks),
/// samples the first token, sends the KV blocks straight to the decode worker named in the
/// params over its data-plane socket, waits for its acknowledgement, and reports to the router.
///
/// Prompts are computed one at a time under one lock, which also guards the data-plane sockets
/// (one DEALER per decode endpoint; ZeroMQ allows a socket to change threads across such a
/// barrier). Each job computes on a thread of its own, so the long compute does not occupy a
/// Swift concurrency or libdispatch worker.
public final class PrefillHandler: JobHandler, @unchecked Sendable {
    public let modelName: String
    public let threads: Int
    public let workerName: String
    /// Tokens per forward call (the chunk size of long prompts).
    public let chunkTokens: Int
    public let blockSizeTokens = 16

    private let lock = NSLock()
    // Guarded by `lock`.
    private var model: LlamaModel?
    private let context = ZMQContext()
    private var sockets: [String: ZMQSocket] = [:]

    public init(modelName: String, threads: Int, workerName: String, chunkTokens: Int = 256) {
        self.modelName = modelName; self.threads = threads; self.workerName = workerName; self.chunkTokens = chunkTokens
    }

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        let params = try job.decodeParams(PrefillParameters.self)
        guard !params.tokens.isEmpty else { throw JobFailure(code: "invalid_params", message: "no tokens", retryable: false) }
        let result: Result<PrefillResult, Error> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.lock.withLock { Result { try self.prefill(params) } }) }
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

    private func prefill(_ params: PrefillParameters) throws -> PrefillResult {
        let model = try loadedModel()
        guard params.tokens.count <= model.config.contextLength else {
            throw JobFailure(code: "invalid_params", message: "the prompt is \(params.tokens.count) tokens; the context holds \(model.config.contextLength)", retryable: false)
        }
        let started = ContinuousClock.now
        let cache = PagedKVCache(config: model.config, capacityTokens: params.tokens.count, blockSizeTokens: blockSizeTokens)
        try cache.createSequence(0)
        var logits: [Float] = []
        var start = 0
        while start < params.tokens.count {
            let end = min(start + chunkTokens, params.tokens.count)
            let chunk = Array(params.tokens[start..<end])
            let out = try model.forward([ForwardRequest(sequence: 0, tokens: chunk, logitIndices: end == params.tokens.count ? [chunk.count - 1] : [])], cache: cache)
            if end == params.tokens.count { logits = out[0][0] }
            start = end
        }
        let first = Sampler.sample(logits: logits, history: params.tokens, parameters: params.sampling, position: params.tokens.count)
        let handoff = KVHandoff(handoff: params.handoff, tokens: params.tokens, blockSizeTokens: blockSizeTokens, blockBytes: cache.blockBytes,
                                firstToken: first, bytes: try cache.exportBlocks(0))
        let computed = ContinuousClock.now
        try send(handoff, to: params.decodeEndpoint)
        let acknowledged = ContinuousClock.now
        return PrefillResult(firstToken: first, tokens: params.tokens.count, bytes: handoff.bytes.count, checksum: handoff.checksum,
                             computeMilliseconds: Self.milliseconds(computed - started), transferMilliseconds: Self.milliseconds(acknowledged - computed),
                             worker: workerName)
    }

    /// Sends the blocks and waits (up to 10 s) for the decode worker's acknowledgement.
    private func send(_ handoff: KVHandoff, to endpoint: String) throws {
        let socket: ZMQSocket
        if let existing = sockets[endpoint] {
            socket = existing
        } else {
            socket = try ZMQSocket(context: context, kind: .dealer)
            try socket.applyProtocolLimits()
            try socket.connect(endpoint)
            sockets[endpoint] = socket
        }
        _ = try socket.send(KVHandoffMessage.blocks(handoff).frames)
        var poller = Poller([.socket(socket)])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let received = try socket.receive(wait: false), case .frames(let frames) = received {
                if case .ack(let id)? = try? KVHandoffMessage(frames: frames), id == handoff.handoff { return }
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
