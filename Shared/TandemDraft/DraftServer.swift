import Foundation
import Synchronization
import TandemDecode
import TandemModel
import TandemTransport
import TandemWire

/// The draft worker's data plane: a ROUTER socket where decode workers send DRAFT_REQUESTs, and
/// one thread that answers them with the in-process `Drafter`s (docs/generate.md, "The draft
/// service").
///
/// Each pass takes every request waiting, from every decode worker, and drafts each method's
/// requests in one `propose` call (a model drafter batches them into one forward call per draft
/// token). With `parallelDrafting`, after answering it drafts ahead for the sequences it just
/// served, as if every draft will be accepted (PEARL): the decode worker verifies meanwhile, and
/// when the next request's context is the old one plus those drafts and one more matching token,
/// the answer is ready at once. Only model drafting does this; prompt lookup costs nothing anyway.
///
/// Malformed messages are answered with DRAFT_ERROR and a protocol error code, never a crash.
public final class DraftServer: @unchecked Sendable {
    public struct Settings: Sendable {
        public var bind: String
        public var parallelDrafting: Bool
        /// A sequence silent this long is forgotten (its decode worker died or lost the close).
        public var idleTimeout: Duration
        public var advertise: String?
        public init(bind: String = "tcp://127.0.0.1:*", advertise: String? = nil, parallelDrafting: Bool = true, idleTimeout: Duration = .seconds(60)) {
            self.bind = bind; self.advertise = advertise; self.parallelDrafting = parallelDrafting; self.idleTimeout = idleTimeout
        }
    }

    public struct Counters: Sendable, Equatable {
        public var requests = 0
        /// Requests answered with a DRAFT_PROPOSAL.
        public var answered = 0
        /// Requests answered from drafts made ahead.
        public var predraftHits = 0
        public var errors = 0
        public var sessions = 0
        /// Time spent answering requests (not drafting ahead, which yields to any request).
        public var busy: Duration = .zero
    }

    /// Where decode workers connect, announced to the router in READY (`AdvertisedEndpoint`: the
    /// bound endpoint, or this host's address for a wildcard bind, unless `Settings.advertise`).
    public let endpoint: String
    public let settings: Settings
    public var methods: Set<DraftMethod> { Set(drafters.keys) }
    public var counters: Counters { counterState.withLock { $0 } }

    private let drafters: [DraftMethod: any Drafter]
    private let counterState = Mutex(Counters())
    /// When `drafting()` last read the busy time, and what it read.
    private let lastLoadReading = Mutex<(at: ContinuousClock.Instant, busy: Duration)>((.now, .zero))
    private let stopping = Atomic<Bool>(false)
    // Owned by the serving thread.
    private let context: ZMQContext
    private let socket: ZMQSocket
    private var sessions: DraftSessions
    private var thread: Thread?

    private struct Pending {
        var identity: [UInt8]
        var key: DraftSessions.Key
        var request: DraftWireRequest
        var local: Int
        var context: [Int32]
        /// Drafts made ahead that start the answer (the rest is drafted now).
        var ready: [DraftToken] = []
    }

    public init(drafters: [any Drafter], settings: Settings = Settings()) throws {
        var byMethod: [DraftMethod: any Drafter] = [:]
        for d in drafters { byMethod[d.method] = d }
        self.drafters = byMethod
        self.settings = settings
        sessions = DraftSessions(idleTimeout: settings.idleTimeout)
        context = ZMQContext()
        socket = try ZMQSocket(context: context, kind: .router)
        try socket.applyProtocolLimits()
        endpoint = AdvertisedEndpoint.resolve(bound: try socket.bind(settings.bind), advertise: settings.advertise)
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "tandem-draft-data"
        self.thread = thread
        thread.start()
    }

    /// The methods and load this worker reports with each heartbeat; the busy fraction covers the
    /// time since the previous call (one heartbeat interval).
    public func drafting(now: ContinuousClock.Instant = .now) -> WorkerLoad.Drafting {
        let c = counters
        let busy = lastLoadReading.withLock { last in
            defer { last = (now, c.busy) }
            let interval = now - last.at
            return interval > .zero ? min(1, max(0, (c.busy - last.busy) / interval)) : 0
        }
        return WorkerLoad.Drafting(methods: methods.map(\.rawValue).sorted(), sessions: c.sessions, rounds: c.answered, busyFraction: busy)
    }

    /// Stops the serving thread (within its poll interval).
    public func shutdown() { stopping.store(true, ordering: .relaxed) }

    private func serve() {
        var poller = Poller([.socket(socket)])
        var lastExpiry = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            _ = try? poller.poll(timeoutMilliseconds: 200)
            var pending: [Pending] = []
            while let message = try? socket.receive(wait: false) {
                switch message {
                case .tooManyFrames(let identity, let count):
                    if let identity { reply(identity, .error(DraftFailure(code: WireError.tooManyFrames(count).code.rawValue, message: WireError.tooManyFrames(count).description))) }
                case .frames(let frames):
                    guard frames.count >= 2 else { continue }
                    handle(identity: frames[0], frames: Array(frames.dropFirst()), into: &pending)
                }
            }
            if !pending.isEmpty { draft(pending) }
            let now = ContinuousClock.now
            if now - lastExpiry >= .seconds(1) {
                lastExpiry = now
                release(sessions.expire(now: now))
                let count = sessions.count
                counterState.withLock { $0.sessions = count }
            }
        }
        socket.close()
    }

    private func handle(identity: [UInt8], frames: [[UInt8]], into pending: inout [Pending]) {
        let message: DraftMessage
        do {
            message = try DraftMessage(frames: frames)
        } catch let error as WireError {
            counterState.withLock { $0.errors += 1 }
            reply(identity, .error(DraftFailure(code: error.code.rawValue, message: error.description)))
            return
        } catch {
            counterState.withLock { $0.errors += 1 }
            reply(identity, .error(DraftFailure(code: "bad_frame", message: "\(error)")))
            return
        }
        switch message {
        case .close(let sequences):
            release(sessions.close(peer: identity, sequences: sequences))
        case .request(let r):
            counterState.withLock { $0.requests += 1 }
            guard drafters[r.method] != nil else {
                reply(identity, .error(DraftFailure(code: DraftFailure.unsupportedMethod,
                                                    message: "this draft worker drafts with \(methods.map(\.rawValue).sorted().joined(separator: ", ")), not \(r.method.rawValue)",
                                                    sequence: r.sequence, round: r.round)))
                return
            }
            let (outcome, released) = sessions.apply(r, from: identity, now: .now)
            if let released { release([released]) }
            switch outcome {
            case .failure(let failure):
                counterState.withLock { $0.errors += 1 }
                reply(identity, .error(failure))
            case .success(let (local, context)):
                pending.append(Pending(identity: identity, key: DraftSessions.Key(peer: identity, sequence: r.sequence), request: r,
                                       local: local, context: context))
            }
        case .proposal, .error:
            counterState.withLock { $0.errors += 1 }
            reply(identity, .error(DraftFailure(code: ErrorCode.unknownCommand.rawValue, message: "a draft worker takes DRAFT_REQUEST and DRAFT_CLOSE")))
        }
    }

    /// Answers the pending requests (from drafts made ahead where they fit, else by drafting each
    /// method's requests together), then drafts ahead for them.
    private func draft(_ pending: [Pending]) {
        let started = ContinuousClock.now
        var answered: [(Pending, [DraftToken])] = []
        var byMethod: [DraftMethod: [Pending]] = [:]
        for var p in pending {
            if settings.parallelDrafting, let ready = sessions.takePredraft(p.key) {
                counterState.withLock { $0.predraftHits += 1 }
                p.ready = Array(ready.prefix(p.request.count))
                if p.ready.count == p.request.count {
                    reply(p.identity, .proposal(DraftProposal(sequence: p.request.sequence, round: p.request.round, drafts: p.ready, predrafted: true)))
                    answered.append((p, p.ready))
                    continue
                }
            }
            byMethod[p.request.method, default: []].append(p)
        }
        for (method, group) in byMethod {
            // Drafts made ahead that fell short (cut off by a request) are continued from their end,
            // as one chain; otherwise as many candidate chains as asked.
            let proposed = (try? drafters[method]!.proposeCandidates(group.map {
                DraftRequest(sequence: $0.local, context: $0.context + $0.ready.map(\.token), count: $0.request.count - $0.ready.count,
                             sampling: $0.request.sampling, candidates: $0.ready.isEmpty ? $0.request.candidates : 1)
            })) ?? [:]
            for p in group {
                let chains = Self.fitted(proposed[p.local] ?? [])
                let drafts = p.ready + (chains.first ?? [])
                reply(p.identity, .proposal(DraftProposal(sequence: p.request.sequence, round: p.request.round, drafts: drafts,
                                                          alternatives: Array(chains.dropFirst()), predrafted: !p.ready.isEmpty)))
                answered.append((p, drafts))
            }
        }
        let busy = ContinuousClock.now - started
        counterState.withLock {
            $0.answered += answered.count
            $0.busy += busy
        }
        guard settings.parallelDrafting else { return }
        // Ahead: each model-drafted sequence's context plus all its drafts, one more token than
        // asked (the target's own token after the drafts must match the first of these).
        var ahead: [DraftMethod: [(Pending, [DraftToken])]] = [:]
        for (p, drafts) in answered where p.request.ahead && p.request.method != .lookup && !drafts.isEmpty {
            ahead[p.request.method, default: []].append((p, drafts))
        }
        for (method, group) in ahead {
            // One token per call for the whole group, stopping as soon as a request waits: drafting
            // ahead never holds up a real request for more than one draft forward call.
            var chains = group.map { _ in [DraftToken]() }
            let wanted = group.map { min($0.0.request.count + 1, DraftMessage.maxDraftTokens) }
            while !requestWaiting() {
                let growing = group.indices.filter { chains[$0].count < wanted[$0] }
                guard !growing.isEmpty, let proposed = try? drafters[method]!.propose(growing.map { i in
                    let (p, drafts) = group[i]
                    return DraftRequest(sequence: p.local, context: p.context + (drafts + chains[i]).map(\.token), count: 1, sampling: p.request.sampling)
                }) else { break }
                var grew = false
                for i in growing {
                    guard let next = proposed[group[i].0.local]?.first else { continue }
                    chains[i].append(next)
                    grew = true
                }
                if !grew { break }
            }
            for (i, (p, drafts)) in group.enumerated() where !chains[i].isEmpty {
                sessions.setPredraft(p.key, contextTokens: p.context.count, drafts: drafts + chains[i])
            }
        }
    }

    /// The chains that fit one DRAFT_PROPOSAL: sampled drafts travel with a distribution blob each,
    /// and a message has at most `ProtocolConstants.maxBlobFrames` blobs, the ids' included;
    /// later chains are cut to fit.
    static func fitted(_ chains: [[DraftToken]]) -> [[DraftToken]] {
        guard chains.joined().contains(where: { $0.distribution != .pointMass($0.token) }) else { return chains }
        var room = ProtocolConstants.maxBlobFrames - 1
        var out: [[DraftToken]] = []
        for chain in chains where room > 0 {
            out.append(Array(chain.prefix(room)))
            room -= out.last!.count
        }
        return out
    }

    /// Whether a message waits on the socket (without taking it).
    private func requestWaiting() -> Bool {
        var poller = Poller([.socket(socket)])
        return (try? poller.poll(timeoutMilliseconds: 0))?.first == true
    }

    private func release(_ released: [DraftSessions.Released]) {
        for r in released { drafters[r.method]?.release(r.local) }
    }

    private func reply(_ identity: [UInt8], _ message: DraftMessage) {
        _ = try? socket.send(to: identity, message.frames, wait: false)
    }
}
