import Foundation
import TandemStore
import TandemWire

/// Worker ⇄ router: registration, heartbeats, results, liveness and dispatch.
extension Router {
    var registeredServices: Set<String> { Set(workerTable.values.map(\.ready.service)) }

    func handleWorker(_ identity: [UInt8], _ frames: [[UInt8]]) {
        let message: WorkerMessage
        do {
            message = try WorkerMessage(frames: frames)
        } catch {
            logger.notice("refused a worker message: \(error)")
            return
        }
        let now = ContinuousClock.now
        if case .ready(let ready) = message {
            if workerTable[identity] != nil { removeWorker(identity, reason: "registered again") }
            toldToRegister[identity] = nil
            workerTable[identity] = WorkerRecord(
                identity: identity, ready: ready, registeredAt: Date(), lastHeard: now,
                nextHeartbeat: now + .milliseconds(ready.heartbeatMilliseconds))
            logger.info("worker registered", metadata: ["service": "\(ready.service)", "capacity": "\(ready.capacity)", "name": "\(ready.name ?? "")"])
            return
        }
        guard workerTable[identity] != nil else {
            // A worker from before a router restart, or one declared dead: it must register again.
            if case .disconnect = message { return }
            // Once per interval: messages already in flight would otherwise each earn a DISCONNECT,
            // and each would make the worker register (and drop its jobs) again.
            if let told = toldToRegister[identity], now - told < .milliseconds(configuration.heartbeatMilliseconds) { return }
            if toldToRegister.count > 10_000 { toldToRegister.removeAll() }
            toldToRegister[identity] = now
            send(worker: identity, .disconnect(reason: "unknown worker: send READY"))
            return
        }
        workerTable[identity]!.lastHeard = now
        switch message {
        case .ready:
            break
        case .heartbeat(_, let load):
            if let load, load != workerTable[identity]!.load {
                workerTable[identity]!.cachedPrefixes = Set(load.prefixHashes)
                workerTable[identity]!.load = load
            }
        case .partial(let id, let attempt, let seq, let data, let blobs):
            guard var job = heldJob(id, attempt, by: identity) else { return }
            guard seq >= job.nextSeq else { return }  // already relayed by an earlier attempt
            // A worker that skips numbers leaves nil entries: the ledger stays indexed by seq.
            job.ledger += Array(repeating: nil, count: Int(seq - job.nextSeq)) + [data]
            jobs[id] = job
            let partial = ClientReply.partial(.init(job: id, seq: seq, data: data, blobs: blobs))
            for subscriber in job.subscribers { send(client: subscriber, partial) }
            persist([.output(JobOutput(jobId: id, seq: seq, data: data, bytes: blobs.first))])
        case .final(let id, let attempt, let result, let blobs):
            guard let job = heldJob(id, attempt, by: identity) else { return }
            release(id, from: identity)
            if job.cancelRequested {
                finish(id, state: .cancelled, code: .cancelled, error: "cancelled while running", at: Date())
            } else {
                finish(id, state: .succeeded, result: result, resultBytes: blobs.first, at: Date())
            }
        case .fail(let id, let attempt, let code, let message, let retryable):
            guard heldJob(id, attempt, by: identity) != nil else { return }
            release(id, from: identity)
            if retryable {
                retryOrFail(id, reason: "\(code): \(message)", code: .workerFailed)
            } else {
                finish(id, state: .failed, code: ErrorCode(rawValue: code) ?? .workerFailed, error: message, at: Date())
            }
        case .cancelled(let id, let attempt):
            guard heldJob(id, attempt, by: identity) != nil else { return }
            release(id, from: identity)
            finish(id, state: .cancelled, code: .cancelled, error: "cancelled while running", at: Date())
        case .release(let id, let attempt, let reason):
            guard var job = heldJob(id, attempt, by: identity) else { return }
            release(id, from: identity)
            // Handed back in good order: the attempt is not charged.
            job.row.attempts -= 1
            jobs[id] = job
            requeue(id, reason: reason)
        case .drain:
            workerTable[identity]!.draining = true
        case .disconnect(let reason):
            removeWorker(identity, reason: reason ?? "disconnected")
        }
    }

    /// The live job if `identity` holds it at `attempt`; replies for older attempts are stale and ignored.
    private func heldJob(_ id: UUID, _ attempt: Int32, by identity: [UInt8]) -> LiveJob? {
        guard workerTable[identity]?.inFlight[id] == attempt, let job = jobs[id], !job.finishing else {
            logger.debug("ignored a stale reply", metadata: ["job": "\(id)", "attempt": "\(attempt)"])
            return nil
        }
        return job
    }

    private func release(_ id: UUID, from identity: [UInt8]) {
        workerTable[identity]?.inFlight[id] = nil
        workerTable[identity]?.completed += 1
    }

    /// Sends heartbeats that are due and buries workers that stopped answering.
    func checkWorkers() {
        let now = ContinuousClock.now
        for (identity, worker) in workerTable {
            if worker.isExpired(at: now) {
                removeWorker(identity, reason: "missed \(worker.ready.liveness) heartbeats")
            } else if now >= worker.nextHeartbeat {
                workerTable[identity]?.nextHeartbeat = now + worker.heartbeatInterval
                send(worker: identity, .heartbeat)
            }
        }
    }

    /// Forgets a worker; its jobs go back to the queue (or fail, past their attempts).
    func removeWorker(_ identity: [UInt8], reason: String) {
        guard let worker = workerTable.removeValue(forKey: identity) else { return }
        logger.warning("worker removed: \(reason)", metadata: ["service": "\(worker.ready.service)", "jobs": "\(worker.inFlight.count)"])
        for id in worker.inFlight.keys.sorted(by: { $0.uuidString < $1.uuidString }) {
            guard let job = jobs[id], !job.finishing else { continue }
            if job.cancelRequested {
                finish(id, state: .cancelled, code: .cancelled, error: "cancelled; its worker was lost", at: Date())
            } else {
                retryOrFail(id, reason: "worker lost: \(reason)", code: .workerLost)
            }
        }
    }

    private func retryOrFail(_ id: UUID, reason: String, code: ErrorCode) {
        guard let job = jobs[id] else { return }
        if job.row.attempts >= job.row.maxAttempts {
            finish(id, state: .failed, code: code, error: "\(reason) (after \(job.row.attempts) attempts)", at: Date())
        } else {
            requeue(id, reason: reason)
        }
    }

    private func requeue(_ id: UUID, reason: String) {
        guard var job = jobs[id] else { return }
        job.row.state = .queued
        job.row.worker = nil
        job.workerIdentity = nil
        jobs[id] = job
        waiting[job.row.service, default: 0] += 1
        enqueue(job.row)
        persist([.upsert(job.row), .event(JobEvent(jobId: id, at: Date(), kind: "requeued", detail: #"{"reason":\#(JSONLiteral.quoted(reason))}"#))])
    }

    /// Hands queued jobs to workers with free slots, as `DispatchPlanner` decides (generations,
    /// when routed, as `GenerateRoutePlanner` decides).
    func dispatch() {
        var queued: [String: Int] = [:]
        for (service, queue) in queues where !queue.isEmpty { queued[service] = queue.count }
        if let routing = configuration.generateRouting, queued.removeValue(forKey: routing.service) != nil {
            dispatchGenerations(routing)
        }
        guard !queued.isEmpty else { return }
        let identities = Array(workerTable.keys)
        let slots = identities.enumerated().compactMap { index, identity -> DispatchPlanner.WorkerSlot? in
            guard let worker = workerTable[identity], queued[worker.ready.service] != nil else { return nil }
            return .init(id: index, service: worker.ready.service, freeSlots: worker.freeSlots, lastDispatch: worker.lastDispatch)
        }
        guard !slots.isEmpty else { return }
        let now = Date()
        for assignment in DispatchPlanner.plan(queued: queued, workers: slots) {
            let identity = identities[assignment.worker]
            for _ in 0..<assignment.jobs {
                // A failed send removes the worker: stop giving it jobs.
                guard workerTable[identity] != nil, let id = queues[assignment.service]?.pop() else { break }
                hand(id, to: identity, at: now)
            }
        }
    }

    /// Queued generations one at a time, highest priority first, each to the decode worker
    /// `GenerateRoutePlanner` picks for its prompt, with its prefill placement.
    private func dispatchGenerations(_ routing: GenerateRouting) {
        let now = Date()
        let prefillWorkers = workerTable.values.filter { $0.ready.service == routing.prefillService }
        var prefillFreeSlots = prefillWorkers.reduce(0) { $0 + $1.freeSlots } - (queues[routing.prefillService]?.count ?? 0)
        while let next = queues[routing.service]?.peek() {
            let candidates = workerTable.filter { $0.value.ready.service == routing.service && $0.value.freeSlots > 0 }
            let identities = Array(candidates.keys)
            let workers = identities.enumerated().map { index, identity in
                let w = candidates[identity]!
                return GenerateRoutePlanner.DecodeWorker(id: index, freeSlots: w.freeSlots, holding: w.inFlight.count, load: w.load,
                                                         cachedPrefixes: w.cachedPrefixes, lastDispatch: w.lastDispatch)
            }
            guard let choice = GenerateRoutePlanner.choose(jobs[next]?.profile, workers: workers, prefillFreeSlots: prefillFreeSlots,
                                                           policy: routing.policy) else { return }
            _ = queues[routing.service]?.pop()
            // A resumed generation (its ledger holds tokens) re-prefills prompt and tokens in place.
            let placement: PrefillPlacement = jobs[next]?.ledger.isEmpty == false ? .local : choice.placement
            if placement == .remote { prefillFreeSlots -= 1 }
            hand(next, to: identities[choice.worker], at: now, prefill: placement)
        }
    }

    /// Marks a popped job running on `identity`, records it and sends the DISPATCH.
    private func hand(_ id: UUID, to identity: [UInt8], at now: Date, prefill: PrefillPlacement? = nil) {
        // (Only the worker's name is read: holding a copy of the record would make the `inFlight`
        // update below copy the whole dictionary.)
        guard let workerName = workerTable[identity]?.displayName, var job = jobs[id] else { return }
        dispatchSerial += 1
        job.row.state = .running
        job.row.attempts += 1
        job.row.startedAt = now
        job.row.worker = workerName
        job.workerIdentity = identity
        jobs[id] = job
        waiting[job.row.service, default: 1] -= 1
        workerTable[identity]!.inFlight[id] = job.row.attempts
        workerTable[identity]!.lastDispatch = dispatchSerial
        let detail = prefill.map { #"{"attempt":\#(job.row.attempts),"prefill":"\#($0.rawValue)"}"# } ?? #"{"attempt":\#(job.row.attempts)}"#
        persist([.upsert(job.row), .event(JobEvent(jobId: id, at: now, kind: "dispatched", worker: job.row.worker, detail: detail))])
        send(worker: identity, .dispatch(.init(job: id, attempt: job.row.attempts, kind: job.row.kind, params: job.row.params,
                                              priority: job.row.priority, ledger: job.ledger, prefill: prefill)))
    }
}
