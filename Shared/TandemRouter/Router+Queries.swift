import Foundation
import TandemStore
import TandemWire

/// Status queries: queues and workers from memory, jobs from the store.
extension Router {
    func handleQuery(_ identity: [UInt8], _ requestId: UInt64, _ query: ClientRequest.Query) {
        switch query {
        case .queues:
            send(client: identity, .reply(requestId: requestId, body: JSONText.object(["queues": queueSummary()])))
        case .workers:
            send(client: identity, .reply(requestId: requestId, body: JSONText.object(["workers": workerSummary()])))
        case .job(let id):
            answerFromStore(identity, requestId) { store in
                guard let row = try store.job(id: id) else { throw RouterQueryError.notFound(id) }
                var body = Self.describe(row)
                body["events"] = try store.events(jobId: id).map { event -> [String: Any] in
                    var entry: [String: Any] = ["at": Self.timestamp(event.at), "kind": event.kind]
                    if let worker = event.worker { entry["worker"] = worker }
                    if let detail = event.detail { entry["detail"] = JSONText.value(detail) }
                    return entry
                }
                body["outputs"] = try store.outputs(jobId: id).map { output -> [String: Any] in
                    var entry: [String: Any] = ["seq": output.seq]
                    if let data = output.data { entry["data"] = JSONText.value(data) }
                    if let bytes = output.bytes { entry["bytes"] = bytes.count }
                    return entry
                }
                return JSONText.object(body)
            }
        case .jobs(let stateName, let limit):
            var state: JobState?
            if let stateName {
                guard let parsed = JobState(rawValue: stateName) else {
                    send(client: identity, .error(requestId: requestId, job: nil, code: ErrorCode.invalidField.rawValue,
                                                  message: "unknown state \(stateName.debugDescription); one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))"))
                    return
                }
                state = parsed
            }
            let bounded = min(max(limit, 1), 10_000)
            let filter = state
            answerFromStore(identity, requestId) { store in
                JSONText.object(["jobs": try store.jobs(state: filter, limit: bounded).map(Self.describe)])
            }
        }
    }

    private func queueSummary() -> [[String: Any]] {
        let services = Set(configuration.services).union(registeredServices).union(queues.keys)
        let second = Int64(Date().timeIntervalSince1970)
        return services.sorted().map { service in
            let workers = workerTable.values.filter { $0.ready.service == service }
            var entry: [String: Any] = [
                "service": service,
                "queued": queues[service]?.count ?? 0,
                "running": workers.reduce(0) { $0 + $1.inFlight.count },
                "workers": workers.count,
                "capacity": workers.reduce(0) { $0 + ($1.draining ? 0 : $1.ready.capacity) },
                "jobs_per_second": throughput[service]?.perSecond(atSecond: second) ?? 0,
            ]
            let reports = workers.compactMap { $0.load?.speculation }
            if !reports.isEmpty {
                Self.addSpeculation(WorkerLoad.Speculation(
                    verifications: reports.reduce(0) { $0 + $1.verifications }, draftedTokens: reports.reduce(0) { $0 + $1.draftedTokens },
                    acceptedTokens: reports.reduce(0) { $0 + $1.acceptedTokens }, remoteRounds: reports.reduce(0) { $0 + $1.remoteRounds },
                    unansweredRounds: reports.reduce(0) { $0 + $1.unansweredRounds }), to: &entry)
            }
            let drafting = workers.compactMap { $0.load?.drafting }
            if !drafting.isEmpty {
                // The service's busy figure is its workers' mean: how much of the draft capacity is in use.
                Self.addDrafting(WorkerLoad.Drafting(
                    methods: Array(Set(drafting.flatMap(\.methods))).sorted(), sessions: drafting.reduce(0) { $0 + $1.sessions },
                    rounds: drafting.reduce(0) { $0 + $1.rounds }, busyFraction: drafting.reduce(0) { $0 + $1.busyFraction } / Double(drafting.count)),
                    to: &entry)
            }
            return entry
        }
    }

    /// Speculation counts of decode workers since they started, with the two figures read from
    /// them: acceptance rate (accepted / drafted) and tokens per verifying step.
    static func addSpeculation(_ s: WorkerLoad.Speculation, to entry: inout [String: Any]) {
        entry["spec_verifications"] = s.verifications
        entry["spec_drafted"] = s.draftedTokens
        entry["spec_accepted"] = s.acceptedTokens
        entry["spec_remote_rounds"] = s.remoteRounds
        entry["spec_unanswered_rounds"] = s.unansweredRounds
        entry["acceptance_rate"] = s.draftedTokens > 0 ? Double(s.acceptedTokens) / Double(s.draftedTokens) : 0
        entry["tokens_per_step"] = s.verifications > 0 ? Double(s.acceptedTokens + s.verifications) / Double(s.verifications) : 0
    }

    /// A draft worker's (or the draft service's) methods and load.
    static func addDrafting(_ d: WorkerLoad.Drafting, to entry: inout [String: Any]) {
        entry["draft_methods"] = d.methods
        entry["draft_sessions"] = d.sessions
        entry["draft_rounds"] = d.rounds
        entry["draft_busy"] = d.busyFraction
    }

    private func workerSummary() -> [[String: Any]] {
        let now = ContinuousClock.now
        return workerTable.values.sorted { ($0.ready.service, $0.registeredAt) < ($1.ready.service, $1.registeredAt) }.map { worker in
            var entry: [String: Any] = [
                "id": worker.identityHex, "service": worker.ready.service, "capacity": worker.ready.capacity,
                "running": worker.inFlight.count, "completed": worker.completed, "draining": worker.draining,
                "registered_at": Self.timestamp(worker.registeredAt),
                "last_heard_ms": Int((now - worker.lastHeard).components.attoseconds / 1_000_000_000_000_000 + (now - worker.lastHeard).components.seconds * 1000),
            ]
            if let name = worker.ready.name { entry["name"] = name }
            if let endpoint = worker.ready.dataEndpoint { entry["endpoint"] = endpoint }
            if let load = worker.load {
                if let kv = load.kvCache {
                    entry["kv_free_blocks"] = kv.freeBlocks
                    entry["kv_total_blocks"] = kv.totalBlocks
                    entry["sequences"] = load.runningSequences
                    entry["waiting_sequences"] = load.waitingSequences
                    entry["cached_prefixes"] = load.prefixHashes.count
                }
                if let s = load.speculation { Self.addSpeculation(s, to: &entry) }
                if let d = load.drafting { Self.addDrafting(d, to: &entry) }
            }
            return entry
        }
    }

    static func describe(_ row: JobRow) -> [String: Any] {
        var body: [String: Any] = [
            "id": row.id.uuidString, "kind": row.kind, "service": row.service, "state": row.state.rawValue,
            "priority": Int(row.priority), "attempts": Int(row.attempts), "max_attempts": Int(row.maxAttempts),
            "params": JSONText.value(row.params), "created_at": timestamp(row.createdAt),
        ]
        if let worker = row.worker { body["worker"] = worker }
        if let at = row.startedAt { body["started_at"] = timestamp(at) }
        if let at = row.finishedAt { body["finished_at"] = timestamp(at) }
        if let result = row.result { body["result"] = JSONText.value(result) }
        if let bytes = row.resultBytes { body["result_bytes"] = bytes.count }
        if let code = row.errorCode { body["error_code"] = code }
        if let error = row.error { body["error"] = error }
        return body
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
