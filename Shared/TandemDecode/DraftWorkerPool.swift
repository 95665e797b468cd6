import CZeroMQ
import Foundation
import Synchronization
import TandemModel
import TandemTransport
import TandemWire

/// The decode worker's side of the draft service: sends DRAFT_REQUESTs straight to draft workers'
/// data-plane sockets and waits a bounded time for their proposals (docs/generate.md, "The draft
/// service").
///
/// A method's requests go only to draft workers that offer it (they say so in their heartbeats'
/// load, which the router's worker list carries). Each sequence sticks to one draft worker (which
/// keeps its context and KV cache), so a round sends only the tokens accepted since the previous
/// one. A draft worker that does not answer within `timeout` is benched for `bench` (one heartbeat
/// interval) and its sequences are drafted by the caller's fallback meanwhile; a send to a worker
/// with no live connection fails at once (`ZMQ_IMMEDIATE`), so a killed worker costs no wait.
///
/// Threading: `propose` and `close` run on the decode engine's step thread only; the endpoint list
/// comes from `DraftWorkerDirectory`'s thread through a mutex.
public final class DraftWorkerPool: @unchecked Sendable {
    public struct Settings: Sendable {
        /// How long a round waits for draft workers before drafting without them.
        public var timeout: Duration
        /// How long a draft worker that timed out is left alone.
        public var bench: Duration
        public init(timeout: Duration = .milliseconds(100), bench: Duration = .seconds(1)) { self.timeout = timeout; self.bench = bench }
    }

    /// What the pool did, for the heartbeat and tests.
    public struct Counters: Sendable, Equatable {
        /// Sequence rounds a draft worker answered.
        public var answered = 0
        /// Sequence rounds no draft worker answered (none live, timed out, refused).
        public var unanswered = 0
        /// Rounds answered with drafts made before the request came (parallel drafting).
        public var predrafted = 0
        public var timeouts = 0
    }

    /// What one sequence's rounds came to (kept until `close`).
    public struct SequenceRounds: Sendable, Equatable {
        /// Rounds a draft worker answered.
        public var all = 0
        /// Of those, rounds answered with drafts made ahead.
        public var predrafted = 0
        /// Time its steps waited for those answers.
        public var waitMicroseconds = 0
        /// Rounds no drafter served: no draft worker offering the method answered, and the decode
        /// worker could not draft it itself (`noteUndrafted`), so the step decoded plainly.
        public var undrafted = 0
    }

    public let settings: Settings
    /// Live draft workers' data-plane endpoints and the methods each offers.
    private let endpoints = Mutex<[String: Set<DraftMethod>]>([:])
    private let counters = Mutex(Counters())

    private struct Link {
        var socket: ZMQSocket
        var refused: Set<DraftMethod> = []
    }

    private struct Session {
        var endpoint: String
        /// Context tokens the draft worker holds for this sequence.
        var sent: Int
        var round: Int64
    }

    // Owned by the step thread.
    private let context = ZMQContext()
    private var links: [String: Link] = [:]
    private var benchedUntil: [String: ContinuousClock.Instant] = [:]
    private var sessions: [Int: Session] = [:]
    private var rounds: [Int: SequenceRounds] = [:]

    public init(settings: Settings = Settings()) { self.settings = settings }

    deinit {
        for link in links.values { link.socket.close() }
    }

    /// The live draft workers' data-plane endpoints and their methods (from the router's worker list).
    public func setEndpoints(_ offers: [String: Set<DraftMethod>]) { endpoints.withLock { $0 = offers } }

    /// The live draft workers that offer `method`, by endpoint.
    public func liveEndpoints(offering method: DraftMethod) -> [String] {
        endpoints.withLock { offers in offers.filter { $0.value.contains(method) }.keys.sorted() }
    }

    public var currentCounters: Counters { counters.withLock { $0 } }

    /// What `sequence`'s rounds came to so far.
    public func rounds(of sequence: Int) -> SequenceRounds { rounds[sequence] ?? SequenceRounds() }

    /// Records rounds of these sequences that got no drafts from anyone.
    public func noteUndrafted(_ sequences: [Int]) {
        for s in sequences { rounds[s, default: SequenceRounds()].undrafted += 1 }
    }

    /// Drafts from draft workers for the requests they can serve now; the rest are returned unserved.
    /// Each sequence gets its candidate chains, the first first (one unless it asked for more).
    public func propose(method: DraftMethod, _ requests: [DraftRequest]) -> (drafts: [Int: [[DraftToken]]], unserved: [DraftRequest]) {
        let now = ContinuousClock.now
        benchedUntil = benchedUntil.filter { $0.value > now }
        let live = liveEndpoints(offering: method).filter { benchedUntil[$0] == nil && links[$0]?.refused.contains(method) != true }
        var waiting: [Int: (request: DraftRequest, endpoint: String, round: Int64)] = [:]
        var unserved: [DraftRequest] = []
        for r in requests {
            guard let endpoint = place(r.sequence, among: live) else { unserved.append(r); continue }
            var session = sessions[r.sequence]!
            // A context that no longer extends what was sent (cannot happen for accepted tokens,
            // but costs nothing to check) starts over.
            if session.sent > r.context.count { session.sent = 0 }
            session.round += 1
            let message = DraftMessage.request(DraftWireRequest(
                sequence: Int64(r.sequence), round: session.round, method: method, keep: session.sent, count: min(r.count, DraftMessage.maxDraftTokens),
                tokens: Array(r.context[session.sent...]), sampling: r.sampling, ahead: r.draftAhead,
                candidates: min(r.candidates, DraftMessage.maxCandidates)))
            guard let link = link(endpoint), (try? link.socket.send(message.frames, wait: false)) == true else {
                // No connection: gone, or not connected yet. Nothing was sent; next round tries again.
                sessions[r.sequence] = nil
                unserved.append(r)
                continue
            }
            session.sent = r.context.count
            sessions[r.sequence] = session
            waiting[r.sequence] = (r, endpoint, session.round)
        }
        var drafts: [Int: [[DraftToken]]] = [:]
        if !waiting.isEmpty { unserved += collect(&waiting, into: &drafts, method: method, deadline: now + settings.timeout) }
        // The whole wait stalled the step, so each answered sequence is charged all of it.
        let waited = ContinuousClock.now - now
        let micros = Int(waited.components.seconds * 1_000_000 + waited.components.attoseconds / 1_000_000_000_000)
        for sequence in drafts.keys { rounds[sequence]?.waitMicroseconds += micros }
        for (sequence, entry) in waiting {
            // Timed out: the worker is benched and this sequence starts over elsewhere.
            sessions[sequence] = nil
            unserved.append(entry.request)
        }
        counters.withLock {
            $0.answered += drafts.count
            $0.unanswered += unserved.count
        }
        return (drafts, unserved)
    }

    /// Tells the sequence's draft worker to forget it.
    public func close(_ sequence: Int) {
        rounds[sequence] = nil
        guard let session = sessions.removeValue(forKey: sequence), let link = links[session.endpoint] else { return }
        _ = try? link.socket.send(DraftMessage.close(sequences: [Int64(sequence)]).frames, wait: false)
    }

    /// The sequence's draft worker: its current one if still live, else the live one holding the
    /// fewest sequences (a new session, which sends the whole context).
    private func place(_ sequence: Int, among live: [String]) -> String? {
        if let s = sessions[sequence], live.contains(s.endpoint) { return s.endpoint }
        sessions[sequence] = nil
        guard !live.isEmpty else { return nil }
        var held: [String: Int] = [:]
        for s in sessions.values { held[s.endpoint, default: 0] += 1 }
        let chosen = live.min { (held[$0] ?? 0, $0) < (held[$1] ?? 0, $1) }!
        sessions[sequence] = Session(endpoint: chosen, sent: 0, round: 0)
        return chosen
    }

    private func link(_ endpoint: String) -> Link? {
        if let existing = links[endpoint] { return existing }
        guard let socket = try? ZMQSocket(context: context, kind: .dealer) else { return nil }
        do {
            try socket.applyProtocolLimits()
            // Queue only to a live connection: a send to a dead worker fails instead of waiting.
            try socket.setInt32(ZMQ_IMMEDIATE, 1)
            try socket.connect(endpoint)
        } catch {
            socket.close()
            return nil
        }
        let link = Link(socket: socket)
        links[endpoint] = link
        return link
    }

    /// Reads answers until every waiting request has one or the deadline passes; a worker that
    /// leaves requests unanswered at the deadline is benched and its socket dropped. Returns the
    /// requests answered with DRAFT_ERROR.
    private func collect(_ waiting: inout [Int: (request: DraftRequest, endpoint: String, round: Int64)], into drafts: inout [Int: [[DraftToken]]],
                         method: DraftMethod, deadline: ContinuousClock.Instant) -> [DraftRequest] {
        var refused: [DraftRequest] = []
        while !waiting.isEmpty {
            let involved = Array(Set(waiting.values.map(\.endpoint))).sorted()
            var received = false
            for endpoint in involved {
                guard let socket = links[endpoint]?.socket else { continue }
                while let message = try? socket.receive(wait: false) {
                    guard case .frames(let frames) = message, let decoded = try? DraftMessage(frames: frames) else { continue }
                    received = true
                    switch decoded {
                    case .proposal(let p):
                        let sequence = Int(p.sequence)
                        guard let entry = waiting[sequence], entry.round == p.round, entry.endpoint == endpoint else { continue }
                        waiting[sequence] = nil
                        rounds[sequence, default: SequenceRounds()].all += 1
                        if p.predrafted {
                            rounds[sequence]!.predrafted += 1
                            counters.withLock { $0.predrafted += 1 }
                        }
                        drafts[sequence] = p.chains.prefix(entry.request.candidates).map { Array($0.prefix(entry.request.count)) }
                    case .error(let f):
                        guard let s = f.sequence.map(Int.init), let entry = waiting[s], entry.round == f.round ?? entry.round, entry.endpoint == endpoint else { continue }
                        waiting[s] = nil
                        refused.append(entry.request)
                        // The worker lost the context (or never had it): send it whole next time.
                        sessions[s] = nil
                        if f.code == DraftFailure.unsupportedMethod { links[endpoint]?.refused.insert(method) }
                    default:
                        continue
                    }
                }
            }
            guard !waiting.isEmpty else { return refused }
            let now = ContinuousClock.now
            guard now < deadline else { break }
            if !received {
                var poller = Poller(involved.compactMap { links[$0].map { .socket($0.socket) } })
                let left = deadline - now
                let ms = max(1, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                _ = try? poller.poll(timeoutMilliseconds: ms)
            }
        }
        let late = Set(waiting.values.map(\.endpoint))
        for endpoint in late {
            links.removeValue(forKey: endpoint)?.socket.close()
            benchedUntil[endpoint] = ContinuousClock.now + settings.bench
        }
        counters.withLock { $0.timeouts += late.count }
        return refused
    }
}
