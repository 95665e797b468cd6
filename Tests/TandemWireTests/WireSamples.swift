import Foundation
import TandemWire

/// One message of every command in each direction, with every optional field set somewhere.
enum WireSamples {
    static let job = UUID(uuidString: "0192F7A4-1C2B-7D3E-8F40-123456789ABC")!

    static let clientRequests: [ClientRequest] = [
        .submit(.init(requestId: 7, kind: "echo", params: #"{"text":"héllo \"q\" ✓"}"#, priority: -3, maxAttempts: 5, stream: false, blobs: [[1, 2, 3], []])),
        .submit(.init(requestId: UInt64.max, kind: "render")),
        .cancel(requestId: 1, job: job),
        .watch(requestId: 2, job: job),
        .query(requestId: 3, .job(job)),
        .query(requestId: 4, .jobs(state: "running", limit: 50)),
        .query(requestId: 5, .jobs(state: nil, limit: 20)),
        .query(requestId: 6, .queues),
        .query(requestId: 7, .workers),
    ]

    static let clientReplies: [ClientReply] = [
        .accepted(requestId: 7, job: job),
        .partial(.init(job: job, seq: 0, data: #"{"text":"a"}"#, blobs: [[0xff]])),
        .partial(.init(job: job, seq: 12)),
        .final(.init(job: job, state: "succeeded", result: "{}", blobs: [Array(repeating: 9, count: 300)])),
        .final(.init(job: job, state: "failed", code: "worker_lost", error: "gone")),
        .error(requestId: 9, job: nil, code: "busy", message: "queue full"),
        .error(requestId: nil, job: job, code: "bad_frame", message: "x"),
        .reply(requestId: 3, body: #"{"queues":[]}"#),
    ]

    static let workerMessages: [WorkerMessage] = [
        .ready(.init(service: "echo", capacity: 4, heartbeatMilliseconds: 1000, liveness: 3, dataEndpoint: "ipc:///tmp/x", name: "host:1")),
        .ready(.init(service: "decode", capacity: 1, heartbeatMilliseconds: 250, liveness: 5)),
        .partial(job: job, attempt: 2, seq: 3, data: "[1,2]", blobs: [[1]]),
        .partial(job: job, attempt: 1, seq: 0, data: nil, blobs: []),
        .final(job: job, attempt: 1, result: #"{"ok":true}"#, blobs: []),
        .fail(job: job, attempt: 3, code: "worker_failed", message: "boom", retryable: true),
        .heartbeat(running: 4),
        .heartbeat(running: 2, load: WorkerLoad(freeBlocks: 100, totalBlocks: 256, blockSizeTokens: 16, runningSequences: 3, waitingSequences: 1,
                                                prefixHashes: [0, 1, UInt64.max, 0xCBF2_9CE4_8422_2325])),
        .heartbeat(running: 1, load: WorkerLoad(freeBlocks: 1, totalBlocks: 2, blockSizeTokens: 16, runningSequences: 1, waitingSequences: 0,
                                                speculation: .init(verifications: 10, draftedTokens: 40, acceptedTokens: 30, remoteRounds: 9, unansweredRounds: 1))),
        .heartbeat(running: 0, load: WorkerLoad(drafting: .init(methods: ["early-exit", "lookup", "model"], sessions: 12, rounds: 3400, busyFraction: 0.375))),
        .heartbeat(running: 0, load: WorkerLoad(drafting: .init(methods: [], sessions: 0, rounds: 0, busyFraction: 0))),
        .disconnect(reason: "shutdown"),
        .disconnect(reason: nil),
        .release(job: job, attempt: 1, reason: "draining"),
        .drain,
        .cancelled(job: job, attempt: 1),
    ]

    static let routerMessages: [RouterMessage] = [
        .dispatch(.init(job: job, attempt: 1, kind: "echo", params: "{}", priority: 9, blobs: [[4, 5]])),
        .dispatch(.init(job: job, attempt: 2, kind: "generate", params: "{}", ledger: [#"{"ids":[7]}"#, nil], blobs: [[1]])),
        .dispatch(.init(job: job, attempt: 1, kind: "generate", params: "{}", prefill: .remote)),
        .cancel(job: job, attempt: 2),
        .heartbeat,
        .disconnect(reason: "unknown worker"),
    ]
}
