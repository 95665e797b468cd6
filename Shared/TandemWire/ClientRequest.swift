import Foundation

/// What a client sends the router (spec: "Client to router").
public enum ClientRequest: Sendable, Equatable {
    public enum Command: UInt8, Sendable, CaseIterable {
        case submit = 0x01
        case cancel = 0x02
        case watch = 0x03
        case query = 0x04
    }

    /// A status query; answered with REPLY carrying JSON.
    public enum Query: Sendable, Equatable {
        case job(UUID)
        case jobs(state: String?, limit: Int)
        case queues
        case workers
    }

    public struct Submit: Sendable, Equatable {
        public var requestId: UInt64
        public var kind: String
        /// A JSON object, as text.
        public var params: String
        public var priority: Int32
        public var maxAttempts: Int32?
        /// Whether the router streams PARTIAL and FINAL for this job back to the submitter.
        public var stream: Bool
        public var blobs: [[UInt8]]

        public init(requestId: UInt64, kind: String, params: String = "{}", priority: Int32 = 0,
                    maxAttempts: Int32? = nil, stream: Bool = true, blobs: [[UInt8]] = []) {
            self.requestId = requestId
            self.kind = kind
            self.params = params
            self.priority = priority
            self.maxAttempts = maxAttempts
            self.stream = stream
            self.blobs = blobs
        }
    }

    case submit(Submit)
    case cancel(requestId: UInt64, job: UUID)
    /// Attach to a job's stream: its later PARTIAL and its FINAL come to this client too.
    case watch(requestId: UInt64, job: UUID)
    case query(requestId: UInt64, Query)

    public var envelope: Envelope {
        switch self {
        case .submit(let submit):
            var header: [String: WireValue] = [
                "req": .uint(submit.requestId), "kind": .string(submit.kind), "params": .string(submit.params),
                "priority": .int(Int64(submit.priority)), "stream": .bool(submit.stream),
            ]
            header.set("max_attempts", submit.maxAttempts)
            return Envelope(command: Command.submit.rawValue, header: header, blobs: submit.blobs)
        case .cancel(let requestId, let job):
            return Envelope(command: Command.cancel.rawValue, header: ["req": .uint(requestId), "job": .string(job.uuidString)])
        case .watch(let requestId, let job):
            return Envelope(command: Command.watch.rawValue, header: ["req": .uint(requestId), "job": .string(job.uuidString)])
        case .query(let requestId, let query):
            var header: [String: WireValue] = ["req": .uint(requestId)]
            switch query {
            case .job(let id): header["what"] = .string("job"); header["job"] = .string(id.uuidString)
            case .jobs(let state, let limit): header["what"] = .string("jobs"); header.set("state", state); header["limit"] = .int(Int64(limit))
            case .queues: header["what"] = .string("queues")
            case .workers: header["what"] = .string("workers")
            }
            return Envelope(command: Command.query.rawValue, header: header)
        }
    }

    public var frames: [[UInt8]] { envelope.frames }

    public init(frames: [[UInt8]]) throws(WireError) {
        try self.init(envelope: try Envelope(frames: frames))
    }

    public init(envelope: Envelope) throws(WireError) {
        guard let command = Command(rawValue: envelope.command) else { throw .unknownCommand(envelope.command) }
        let fields = HeaderFields(envelope.header)
        let requestId: UInt64 = try fields.integer("req")
        if command != .submit, !envelope.blobs.isEmpty { throw .unexpectedBlobs(envelope.blobs.count) }
        switch command {
        case .submit:
            self = .submit(Submit(
                requestId: requestId, kind: try fields.string("kind"), params: try fields.optionalString("params") ?? "{}",
                priority: try fields.optionalInteger("priority") ?? 0, maxAttempts: try fields.optionalInteger("max_attempts"),
                stream: try fields.bool("stream", default: true), blobs: envelope.blobs))
        case .cancel:
            self = .cancel(requestId: requestId, job: try fields.jobId())
        case .watch:
            self = .watch(requestId: requestId, job: try fields.jobId())
        case .query:
            switch try fields.string("what") {
            case "job": self = .query(requestId: requestId, .job(try fields.jobId()))
            case "jobs": self = .query(requestId: requestId, .jobs(state: try fields.optionalString("state"), limit: try fields.optionalInteger("limit") ?? 20))
            case "queues": self = .query(requestId: requestId, .queues)
            case "workers": self = .query(requestId: requestId, .workers)
            case let other: throw .invalidField("what", "unknown query \(other.debugDescription)")
            }
        }
    }
}
