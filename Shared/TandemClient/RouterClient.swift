import Foundation
import TandemTransport
import TandemWire

/// A connection to the router's client endpoint: submit, watch, cancel and query.
///
/// Not thread-safe: one thread uses a client (it owns a ZeroMQ socket). Replies that arrive while
/// the caller waits for something else (a PARTIAL of another job, say) are kept for `receive`.
public final class RouterClient {
    public let configuration: ClientConfiguration
    private let context = ZMQContext()
    private let socket: ZMQSocket
    private var nextRequestId: UInt64 = 1
    private var backlog: [ClientReply] = []

    public init(configuration: ClientConfiguration = ClientConfiguration()) throws {
        self.configuration = configuration
        socket = try ZMQSocket(context: context, kind: .dealer)
        try socket.applyProtocolLimits()
        try socket.connect(configuration.routerEndpoint)
    }

    deinit { socket.close() }

    public func makeRequestId() -> UInt64 {
        defer { nextRequestId += 1 }
        return nextRequestId
    }

    /// Sends a request without waiting for anything.
    public func send(_ request: ClientRequest) throws {
        do {
            try socket.send(request.frames)
        } catch {
            throw ClientError.transport("\(error)")
        }
    }

    /// The next reply, or nil after `timeoutMilliseconds` (-1: wait forever). Malformed replies throw.
    public func receive(timeoutMilliseconds: Int) throws -> ClientReply? {
        if !backlog.isEmpty { return backlog.removeFirst() }
        var poller = Poller([.socket(socket)])
        let deadline = ContinuousClock.now + .milliseconds(max(0, timeoutMilliseconds))
        while true {
            if let received = try? socket.receive(wait: false), case .frames(let frames) = received {
                do {
                    return try ClientReply(frames: frames)
                } catch {
                    throw ClientError.unexpectedReply("\(error)")
                }
            }
            var wait = -1
            if timeoutMilliseconds >= 0 {
                let left = deadline - ContinuousClock.now
                wait = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
                if wait <= 0 { return nil }
            }
            _ = try poller.poll(timeoutMilliseconds: wait)
        }
    }

    /// Waits for the reply that answers `requestId`, keeping others for later.
    public func awaitReply(to requestId: UInt64, timeoutMilliseconds: Int? = nil) throws -> ClientReply {
        let timeout = timeoutMilliseconds ?? configuration.replyTimeoutMilliseconds
        let deadline = ContinuousClock.now + .milliseconds(timeout)
        var skipped: [ClientReply] = []
        defer { backlog.insert(contentsOf: skipped, at: 0) }
        while true {
            let left = deadline - ContinuousClock.now
            let wait = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            guard wait > 0, let reply = try receive(timeoutMilliseconds: wait) else {
                throw ClientError.noAnswer(endpoint: configuration.routerEndpoint, waitedMilliseconds: timeout)
            }
            switch reply {
            case .accepted(let id, _) where id == requestId: return reply
            case .reply(let id, _) where id == requestId: return reply
            case .error(let id?, _, _, _) where id == requestId: return reply
            default: skipped.append(reply)
            }
        }
    }

    /// Submits a job and returns its id once the router has committed it.
    public func submit(kind: String, params: String = "{}", priority: Int32 = 0, maxAttempts: Int32? = nil, stream: Bool = true) throws -> UUID {
        let requestId = makeRequestId()
        try send(.submit(.init(requestId: requestId, kind: kind, params: params, priority: priority, maxAttempts: maxAttempts, stream: stream)))
        switch try awaitReply(to: requestId) {
        case .accepted(_, let job): return job
        case .error(_, _, let code, let message): throw ClientError.refused(code: code, message: message)
        case let other: throw ClientError.unexpectedReply("\(other)")
        }
    }

    /// Asks for a status query's answer, as parsed JSON.
    public func query(_ query: ClientRequest.Query) throws -> Any {
        let requestId = makeRequestId()
        try send(.query(requestId: requestId, query))
        return try jsonAnswer(to: requestId)
    }

    /// Cancels a job; returns the JSON answer (`{"job": …, "state": …}`) once the job is final.
    public func cancel(_ job: UUID, timeoutMilliseconds: Int? = nil) throws -> Any {
        let requestId = makeRequestId()
        try send(.cancel(requestId: requestId, job: job))
        return try jsonAnswer(to: requestId, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Subscribes to a job's stream. Returns the FINAL straight away when the job is already final.
    public func watch(_ job: UUID) throws -> ClientReply.Final? {
        let requestId = makeRequestId()
        try send(.watch(requestId: requestId, job: job))
        let deadline = ContinuousClock.now + .milliseconds(configuration.replyTimeoutMilliseconds)
        while ContinuousClock.now < deadline {
            guard let reply = try receive(timeoutMilliseconds: configuration.replyTimeoutMilliseconds) else { break }
            switch reply {
            case .reply(let id, _) where id == requestId: return nil
            case .final(let final) where final.job == job: return final
            case .error(_, let id, let code, let message) where id == job: throw ClientError.refused(code: code, message: message)
            default: backlog.append(reply)
            }
        }
        throw ClientError.noAnswer(endpoint: configuration.routerEndpoint, waitedMilliseconds: configuration.replyTimeoutMilliseconds)
    }

    /// How long `follow` waits in silence before it asks for the job's stream again.
    public static let rewatchMilliseconds = 2000

    /// Streams a job to its end: partials in order without duplicates, then the FINAL.
    /// `timeoutMilliseconds` (-1: none) bounds the silence between two messages of the job.
    ///
    /// After `rewatchMilliseconds` of silence it sends WATCH again: a router that restarted has
    /// forgotten who listens, and WATCH is idempotent (or answers with the stored FINAL). So a
    /// client's stream survives a router restart; `seq` keeps it free of duplicates.
    public func follow(_ job: UUID, timeoutMilliseconds: Int = -1, onPartial: (ClientReply.Partial) -> Void = { _ in }) throws -> ClientReply.Final {
        var nextSeq: Int64 = 0
        var skipped: [ClientReply] = []
        var watches: Set<UInt64> = []
        var lastHeard = ContinuousClock.now
        defer { backlog.append(contentsOf: skipped) }
        while true {
            guard let reply = try receive(timeoutMilliseconds: Self.rewatchMilliseconds) else {
                if timeoutMilliseconds >= 0, ContinuousClock.now - lastHeard >= .milliseconds(timeoutMilliseconds) {
                    throw ClientError.noAnswer(endpoint: configuration.routerEndpoint, waitedMilliseconds: timeoutMilliseconds)
                }
                let requestId = makeRequestId()
                watches.insert(requestId)
                try send(.watch(requestId: requestId, job: job))
                continue
            }
            switch reply {
            case .partial(let partial) where partial.job == job:
                lastHeard = .now
                if partial.seq >= nextSeq {
                    nextSeq = partial.seq + 1
                    onPartial(partial)
                }
            case .final(let final) where final.job == job:
                return final
            case .reply(let requestId, _) where watches.contains(requestId):
                lastHeard = .now
            case .error(_, let id, let code, let message) where id == job:
                throw ClientError.refused(code: code, message: message)
            default:
                skipped.append(reply)
            }
        }
    }

    private func jsonAnswer(to requestId: UInt64, timeoutMilliseconds: Int? = nil) throws -> Any {
        switch try awaitReply(to: requestId, timeoutMilliseconds: timeoutMilliseconds) {
        case .reply(_, let body):
            guard let value = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) else {
                throw ClientError.unexpectedReply("invalid JSON in reply")
            }
            return value
        case .error(_, _, let code, let message):
            throw ClientError.refused(code: code, message: message)
        case let other:
            throw ClientError.unexpectedReply("\(other)")
        }
    }
}
