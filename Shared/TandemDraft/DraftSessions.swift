import TandemDecode
import TandemModel

/// The draft worker's per-sequence state, as pure bookkeeping (no sockets, no model): each decode
/// worker's sequence has a context (prompt and accepted tokens) and a local id its drafter keys
/// its own state (the draft KV cache) by. Requests extend the context by the tokens accepted since
/// the previous round; a close or `idleTimeout` of silence ends the session, and the caller
/// releases what `apply`, `close` and `expire` return from its drafters.
///
/// Parallel drafting (PEARL) is kept here too: drafts made for a context before the next request
/// came (`predraft`), handed out when that request's context is the old one plus a prefix of them.
public struct DraftSessions {
    public struct Key: Hashable, Sendable {
        /// The decode worker's connection (its ZeroMQ routing identity).
        public var peer: [UInt8]
        public var sequence: Int64
        public init(peer: [UInt8], sequence: Int64) { self.peer = peer; self.sequence = sequence }
    }

    /// A session a drafter must forget.
    public struct Released: Equatable, Sendable {
        public var local: Int
        public var method: DraftMethod
        public init(local: Int, method: DraftMethod) { self.local = local; self.method = method }
    }

    struct Session {
        var local: Int
        var method: DraftMethod
        var context: [Int32]
        var lastUsed: ContinuousClock.Instant
        /// A chain of drafts that follows the first `context` tokens of the context, made ahead
        /// of the next request (parallel drafting).
        var predraft: (context: Int, drafts: [DraftToken])?
    }

    public let idleTimeout: Duration
    private(set) var sessions: [Key: Session] = [:]
    private var nextLocal = 1

    public init(idleTimeout: Duration = .seconds(60)) { self.idleTimeout = idleTimeout }

    public var count: Int { sessions.count }

    /// The sequence's context after the request, with its local id, or the failure to answer with;
    /// `released`: a session the request ended (a restart with another method, or a mismatch).
    public mutating func apply(_ r: DraftWireRequest, from peer: [UInt8], now: ContinuousClock.Instant)
        -> (outcome: Result<(local: Int, context: [Int32]), DraftFailure>, released: Released?) {
        let key = Key(peer: peer, sequence: r.sequence)
        guard r.keep > 0 || !r.tokens.isEmpty else {
            return (.failure(DraftFailure(code: "invalid_field", message: "a sequence's context cannot be empty", sequence: r.sequence, round: r.round)), nil)
        }
        var released: Released?
        var session: Session
        if r.keep == 0 {
            if let old = sessions.removeValue(forKey: key) {
                if old.method == r.method {
                    session = old
                    session.context = []
                    session.predraft = nil
                } else {
                    released = Released(local: old.local, method: old.method)
                    session = newSession(r.method, now)
                }
            } else {
                session = newSession(r.method, now)
            }
        } else {
            guard let old = sessions[key], old.method == r.method, old.context.count == r.keep else {
                if let old = sessions.removeValue(forKey: key) { released = Released(local: old.local, method: old.method) }
                return (.failure(DraftFailure(code: DraftFailure.unknownSequence,
                                              message: "this draft worker does not hold \(r.keep) context tokens of sequence \(r.sequence): send it from 0",
                                              sequence: r.sequence, round: r.round)), released)
            }
            session = old
        }
        session.context += r.tokens
        session.lastUsed = now
        sessions[key] = session
        return (.success((session.local, session.context)), released)
    }

    /// Drafts made ahead for this context, if the context is the predraft's plus some of its drafts
    /// (every draft of the previous round accepted, and the target's own token the next draft):
    /// the drafts after those. Consumed either way.
    public mutating func takePredraft(_ key: Key) -> [DraftToken]? {
        guard let session = sessions[key], let p = session.predraft else { return nil }
        sessions[key]!.predraft = nil
        let extra = session.context.count - p.context
        guard extra >= 1, extra < p.drafts.count,
              session.context[p.context...].elementsEqual(p.drafts.prefix(extra).map(\.token)) else { return nil }
        return Array(p.drafts[extra...])
    }

    /// Records a chain of drafts that follows the first `contextTokens` tokens of the context: the
    /// drafts just proposed, then those drafted after them ahead of the next request.
    public mutating func setPredraft(_ key: Key, contextTokens: Int, drafts: [DraftToken]) {
        guard sessions[key] != nil, !drafts.isEmpty else { return }
        sessions[key]!.predraft = (contextTokens, drafts)
    }

    public func session(_ key: Key) -> (local: Int, method: DraftMethod, context: [Int32])? {
        sessions[key].map { ($0.local, $0.method, $0.context) }
    }

    /// Ends the sessions a decode worker closed.
    public mutating func close(peer: [UInt8], sequences: [Int64]) -> [Released] {
        sequences.compactMap { s in sessions.removeValue(forKey: Key(peer: peer, sequence: s)).map { Released(local: $0.local, method: $0.method) } }
    }

    /// Ends the sessions silent for `idleTimeout` (their decode worker died, or lost the close).
    public mutating func expire(now: ContinuousClock.Instant) -> [Released] {
        let idle = sessions.filter { now - $0.value.lastUsed >= idleTimeout }
        for key in idle.keys { sessions[key] = nil }
        return idle.values.map { Released(local: $0.local, method: $0.method) }
    }

    private mutating func newSession(_ method: DraftMethod, _ now: ContinuousClock.Instant) -> Session {
        defer { nextLocal += 1 }
        return Session(local: nextLocal, method: method, context: [], lastUsed: now)
    }
}
