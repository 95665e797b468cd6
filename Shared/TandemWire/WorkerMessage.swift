import Foundation

/// What a worker sends the router (spec: "Worker to router").
public enum WorkerMessage: Sendable, Equatable {
    public enum Command: UInt8, Sendable, CaseIterable {
        case ready = 0x21
        case partial = 0x22
        case final = 0x23
        case fail = 0x24
        case heartbeat = 0x25
        case disconnect = 0x26
        case release = 0x27
        case drain = 0x28
        case cancelled = 0x29
    }

    public struct Ready: Sendable, Equatable {
        public var service: String
        /// Jobs the worker runs at once.
        public var capacity: Int
        public var heartbeatMilliseconds: Int
        public var liveness: Int
        /// The worker's data-plane endpoint, for worker-to-worker bulk transfers.
        public var dataEndpoint: String?
        /// A human-readable name (host:pid), shown by `tandem workers`.
        public var name: String?

        public init(service: String, capacity: Int, heartbeatMilliseconds: Int, liveness: Int, dataEndpoint: String? = nil, name: String? = nil) {
            self.service = service
            self.capacity = capacity
            self.heartbeatMilliseconds = heartbeatMilliseconds
            self.liveness = liveness
            self.dataEndpoint = dataEndpoint
            self.name = name
        }
    }

    case ready(Ready)
    case partial(job: UUID, attempt: Int32, seq: Int64, data: String?, blobs: [[UInt8]])
    case final(job: UUID, attempt: Int32, result: String?, blobs: [[UInt8]])
    /// The job failed on this worker; `retryable` lets the router dispatch it again.
    case fail(job: UUID, attempt: Int32, code: String, message: String, retryable: Bool)
    /// `load` is optional: workers that have nothing to say beyond their job count leave it out.
    case heartbeat(running: Int, load: WorkerLoad? = nil)
    case disconnect(reason: String?)
    /// The worker hands a job back unfinished (graceful shutdown); no attempt is charged.
    case release(job: UUID, attempt: Int32, reason: String)
    /// Stop dispatching to this worker; in-flight jobs continue.
    case drain
    /// The job stopped after a CANCEL.
    case cancelled(job: UUID, attempt: Int32)

    public var envelope: Envelope {
        switch self {
        case .ready(let ready):
            var header: [String: WireValue] = [
                "service": .string(ready.service), "capacity": .int(Int64(ready.capacity)),
                "heartbeat_ms": .int(Int64(ready.heartbeatMilliseconds)), "liveness": .int(Int64(ready.liveness)),
            ]
            header.set("endpoint", ready.dataEndpoint)
            header.set("name", ready.name)
            return Envelope(command: Command.ready.rawValue, header: header)
        case .partial(let job, let attempt, let seq, let data, let blobs):
            var header: [String: WireValue] = ["job": .string(job.uuidString), "attempt": .int(Int64(attempt)), "seq": .int(seq)]
            header.set("data", data)
            return Envelope(command: Command.partial.rawValue, header: header, blobs: blobs)
        case .final(let job, let attempt, let result, let blobs):
            var header: [String: WireValue] = ["job": .string(job.uuidString), "attempt": .int(Int64(attempt))]
            header.set("result", result)
            return Envelope(command: Command.final.rawValue, header: header, blobs: blobs)
        case .fail(let job, let attempt, let code, let message, let retryable):
            return Envelope(command: Command.fail.rawValue, header: [
                "job": .string(job.uuidString), "attempt": .int(Int64(attempt)), "code": .string(code),
                "message": .string(message), "retryable": .bool(retryable),
            ])
        case .heartbeat(let running, let load):
            var header: [String: WireValue] = ["running": .int(Int64(running))]
            if let load { header["load"] = .map(load.header) }
            return Envelope(command: Command.heartbeat.rawValue, header: header)
        case .disconnect(let reason):
            var header: [String: WireValue] = [:]
            header.set("reason", reason)
            return Envelope(command: Command.disconnect.rawValue, header: header)
        case .release(let job, let attempt, let reason):
            return Envelope(command: Command.release.rawValue, header: [
                "job": .string(job.uuidString), "attempt": .int(Int64(attempt)), "reason": .string(reason),
            ])
        case .drain:
            return Envelope(command: Command.drain.rawValue, header: [:])
        case .cancelled(let job, let attempt):
            return Envelope(command: Command.cancelled.rawValue, header: ["job": .string(job.uuidString), "attempt": .int(Int64(attempt))])
        }
    }

    public var frames: [[UInt8]] { envelope.frames }

    public init(frames: [[UInt8]]) throws(WireError) {
        let envelope = try Envelope(frames: frames)
        guard let command = Command(rawValue: envelope.command) else { throw .unknownCommand(envelope.command) }
        let fields = HeaderFields(envelope.header)
        if command != .partial, command != .final, !envelope.blobs.isEmpty { throw .unexpectedBlobs(envelope.blobs.count) }
        switch command {
        case .ready:
            let ready = Ready(
                service: try fields.string("service"), capacity: try fields.integer("capacity"),
                heartbeatMilliseconds: try fields.integer("heartbeat_ms"), liveness: try fields.integer("liveness"),
                dataEndpoint: try fields.optionalString("endpoint"), name: try fields.optionalString("name"))
            guard ready.capacity >= 1, ready.capacity <= 65_536 else { throw .invalidField("capacity", "must be 1...65536") }
            guard ready.heartbeatMilliseconds >= 10, ready.heartbeatMilliseconds <= 600_000 else { throw .invalidField("heartbeat_ms", "must be 10...600000") }
            guard ready.liveness >= 1, ready.liveness <= 100 else { throw .invalidField("liveness", "must be 1...100") }
            guard !ready.service.isEmpty, ready.service.count <= 64 else { throw .invalidField("service", "must be 1...64 characters") }
            self = .ready(ready)
        case .partial:
            self = .partial(job: try fields.jobId(), attempt: try fields.integer("attempt"), seq: try fields.integer("seq"),
                            data: try fields.optionalString("data"), blobs: envelope.blobs)
        case .final:
            self = .final(job: try fields.jobId(), attempt: try fields.integer("attempt"), result: try fields.optionalString("result"), blobs: envelope.blobs)
        case .fail:
            self = .fail(job: try fields.jobId(), attempt: try fields.integer("attempt"), code: try fields.string("code"),
                         message: try fields.string("message"), retryable: try fields.bool("retryable", default: false))
        case .heartbeat:
            var load: WorkerLoad?
            switch envelope.header["load"] {
            case nil, .null?: break
            case .map(let map)?: load = try WorkerLoad(header: map)
            default: throw .invalidField("load", "expected a map")
            }
            self = .heartbeat(running: try fields.optionalInteger("running") ?? 0, load: load)
        case .disconnect:
            self = .disconnect(reason: try fields.optionalString("reason"))
        case .release:
            self = .release(job: try fields.jobId(), attempt: try fields.integer("attempt"), reason: try fields.optionalString("reason") ?? "released")
        case .drain:
            self = .drain
        case .cancelled:
            self = .cancelled(job: try fields.jobId(), attempt: try fields.integer("attempt"))
        }
    }
}
