import Foundation

/// What the router sends a client (spec: "Router to client").
public enum ClientReply: Sendable, Equatable {
    public enum Command: UInt8, Sendable, CaseIterable {
        case accepted = 0x11
        case partial = 0x12
        case final = 0x13
        case error = 0x14
        case reply = 0x15
    }

    public struct Partial: Sendable, Equatable {
        public var job: UUID
        /// Numbers a job's partials from 0 without gaps; a client drops a `seq` it has seen.
        public var seq: Int64
        public var data: String?
        public var blobs: [[UInt8]]

        public init(job: UUID, seq: Int64, data: String? = nil, blobs: [[UInt8]] = []) {
            self.job = job
            self.seq = seq
            self.data = data
            self.blobs = blobs
        }
    }

    public struct Final: Sendable, Equatable {
        public var job: UUID
        /// `succeeded`, `failed` or `cancelled`.
        public var state: String
        public var result: String?
        public var code: String?
        public var error: String?
        public var blobs: [[UInt8]]

        public init(job: UUID, state: String, result: String? = nil, code: String? = nil, error: String? = nil, blobs: [[UInt8]] = []) {
            self.job = job
            self.state = state
            self.result = result
            self.code = code
            self.error = error
            self.blobs = blobs
        }
    }

    /// The job is committed to the job store and will not be lost.
    case accepted(requestId: UInt64, job: UUID)
    case partial(Partial)
    case final(Final)
    case error(requestId: UInt64?, job: UUID?, code: String, message: String)
    /// The answer to a query or a cancel, as JSON text.
    case reply(requestId: UInt64, body: String)

    public var envelope: Envelope {
        switch self {
        case .accepted(let requestId, let job):
            return Envelope(command: Command.accepted.rawValue, header: ["req": .uint(requestId), "job": .string(job.uuidString)])
        case .partial(let partial):
            var header: [String: WireValue] = ["job": .string(partial.job.uuidString), "seq": .int(partial.seq)]
            header.set("data", partial.data)
            return Envelope(command: Command.partial.rawValue, header: header, blobs: partial.blobs)
        case .final(let final):
            var header: [String: WireValue] = ["job": .string(final.job.uuidString), "state": .string(final.state)]
            header.set("result", final.result)
            header.set("code", final.code)
            header.set("error", final.error)
            return Envelope(command: Command.final.rawValue, header: header, blobs: final.blobs)
        case .error(let requestId, let job, let code, let message):
            var header: [String: WireValue] = ["code": .string(code), "message": .string(message)]
            if let requestId { header["req"] = .uint(requestId) }
            header.set("job", job?.uuidString)
            return Envelope(command: Command.error.rawValue, header: header)
        case .reply(let requestId, let body):
            return Envelope(command: Command.reply.rawValue, header: ["req": .uint(requestId), "body": .string(body)])
        }
    }

    public var frames: [[UInt8]] { envelope.frames }

    public init(frames: [[UInt8]]) throws(WireError) {
        let envelope = try Envelope(frames: frames)
        guard let command = Command(rawValue: envelope.command) else { throw .unknownCommand(envelope.command) }
        let fields = HeaderFields(envelope.header)
        if command != .partial, command != .final, !envelope.blobs.isEmpty { throw .unexpectedBlobs(envelope.blobs.count) }
        switch command {
        case .accepted:
            self = .accepted(requestId: try fields.integer("req"), job: try fields.jobId())
        case .partial:
            self = .partial(Partial(job: try fields.jobId(), seq: try fields.integer("seq"), data: try fields.optionalString("data"), blobs: envelope.blobs))
        case .final:
            self = .final(Final(
                job: try fields.jobId(), state: try fields.string("state"), result: try fields.optionalString("result"),
                code: try fields.optionalString("code"), error: try fields.optionalString("error"), blobs: envelope.blobs))
        case .error:
            let job = try fields.optionalString("job").flatMap(UUID.init(uuidString:))
            self = .error(requestId: try fields.optionalInteger("req"), job: job, code: try fields.string("code"), message: try fields.string("message"))
        case .reply:
            self = .reply(requestId: try fields.integer("req"), body: try fields.string("body"))
        }
    }
}
