import Foundation

/// What the router sends a worker (spec: "Router to worker").
public enum RouterMessage: Sendable, Equatable {
    public enum Command: UInt8, Sendable, CaseIterable {
        case dispatch = 0x31
        case cancel = 0x32
        case heartbeat = 0x33
        case disconnect = 0x34
    }

    public struct Dispatch: Sendable, Equatable {
        public var job: UUID
        /// Which dispatch of the job this is (1 for the first); replies quote it so a stale one is ignored.
        public var attempt: Int32
        public var kind: String
        public var params: String
        public var priority: Int32
        /// The `data` of every partial earlier attempts produced, in `seq` order (nil where a partial
        /// had none): what a job needs to resume instead of starting over. Travels as the last blob.
        public var ledger: [String?]
        /// For a generation the router routed: where its prompt is computed (nil: the worker decides).
        public var prefill: PrefillPlacement?
        public var blobs: [[UInt8]]

        public init(job: UUID, attempt: Int32, kind: String, params: String, priority: Int32 = 0, ledger: [String?] = [],
                    prefill: PrefillPlacement? = nil, blobs: [[UInt8]] = []) {
            self.job = job
            self.prefill = prefill
            self.attempt = attempt
            self.kind = kind
            self.params = params
            self.priority = priority
            self.ledger = ledger
            self.blobs = blobs
        }
    }

    case dispatch(Dispatch)
    case cancel(job: UUID, attempt: Int32)
    case heartbeat
    /// The router does not know this worker (it restarted, or declared the worker dead): register again.
    case disconnect(reason: String)

    public var envelope: Envelope {
        switch self {
        case .dispatch(let dispatch):
            var header: [String: WireValue] = [
                "job": .string(dispatch.job.uuidString), "attempt": .int(Int64(dispatch.attempt)), "kind": .string(dispatch.kind),
                "params": .string(dispatch.params), "priority": .int(Int64(dispatch.priority)),
            ]
            header.set("prefill", dispatch.prefill?.rawValue)
            var blobs = dispatch.blobs
            if !dispatch.ledger.isEmpty {
                header["ledger"] = .int(Int64(dispatch.ledger.count))
                blobs.append(LedgerBlob.encode(dispatch.ledger))
            }
            return Envelope(command: Command.dispatch.rawValue, header: header, blobs: blobs)
        case .cancel(let job, let attempt):
            return Envelope(command: Command.cancel.rawValue, header: ["job": .string(job.uuidString), "attempt": .int(Int64(attempt))])
        case .heartbeat:
            return Envelope(command: Command.heartbeat.rawValue, header: [:])
        case .disconnect(let reason):
            return Envelope(command: Command.disconnect.rawValue, header: ["reason": .string(reason)])
        }
    }

    public var frames: [[UInt8]] { envelope.frames }

    public init(frames: [[UInt8]]) throws(WireError) {
        let envelope = try Envelope(frames: frames)
        guard let command = Command(rawValue: envelope.command) else { throw .unknownCommand(envelope.command) }
        let fields = HeaderFields(envelope.header)
        if command != .dispatch, !envelope.blobs.isEmpty { throw .unexpectedBlobs(envelope.blobs.count) }
        switch command {
        case .dispatch:
            var blobs = envelope.blobs
            var ledger: [String?] = []
            if let count: Int = try fields.optionalInteger("ledger"), count > 0 {
                guard let last = blobs.popLast() else { throw .invalidField("ledger", "no ledger blob") }
                ledger = try LedgerBlob.decode(last, count: count)
            }
            var prefill: PrefillPlacement?
            if let text = try fields.optionalString("prefill") {
                guard let placement = PrefillPlacement(rawValue: text) else { throw .invalidField("prefill", "expected local or remote") }
                prefill = placement
            }
            self = .dispatch(Dispatch(
                job: try fields.jobId(), attempt: try fields.integer("attempt"), kind: try fields.string("kind"),
                params: try fields.string("params"), priority: try fields.optionalInteger("priority") ?? 0, ledger: ledger,
                prefill: prefill, blobs: blobs))
        case .cancel:
            self = .cancel(job: try fields.jobId(), attempt: try fields.integer("attempt"))
        case .heartbeat:
            self = .heartbeat
        case .disconnect:
            self = .disconnect(reason: try fields.optionalString("reason") ?? "")
        }
    }
}
