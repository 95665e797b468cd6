import Foundation
import TandemStore
import TandemWire

/// Client ⇄ router: submit, cancel, watch, queries.
extension Router {
    func handleClient(_ identity: [UInt8], _ frames: [[UInt8]]) {
        let request: ClientRequest
        do {
            request = try ClientRequest(frames: frames)
        } catch {
            logger.notice("refused a client message: \(error)")
            send(client: identity, .error(requestId: nil, job: nil, code: error.code.rawValue, message: error.description))
            return
        }
        switch request {
        case .submit(let submit): handleSubmit(identity, submit)
        case .cancel(let requestId, let job): handleCancel(identity, requestId, job)
        case .watch(let requestId, let job): handleWatch(identity, requestId, job)
        case .query(let requestId, let query): handleQuery(identity, requestId, query)
        }
    }

    private func handleSubmit(_ identity: [UInt8], _ submit: ClientRequest.Submit) {
        func refuse(_ code: ErrorCode, _ message: String) {
            send(client: identity, .error(requestId: submit.requestId, job: nil, code: code.rawValue, message: message))
        }
        guard let service = configuration.service(forKind: submit.kind, registered: registeredServices) else {
            return refuse(.unknownKind, "unknown job kind \(submit.kind.debugDescription); known: \(configuration.knownKinds(registered: registeredServices).joined(separator: ", "))")
        }
        guard JSONText.isObject(submit.params) else { return refuse(.invalidParams, "params must be a JSON object") }
        if let maxAttempts = submit.maxAttempts, !(1...100).contains(maxAttempts) {
            return refuse(.invalidField, "max_attempts must be 1...100")
        }
        guard submit.blobs.isEmpty else { return refuse(.invalidField, "submissions carry no blob frames in this protocol version") }
        if waiting[service, default: 0] >= configuration.maxQueuedPerService {
            return refuse(.busy, "the \(service) queue is full (\(configuration.maxQueuedPerService) jobs waiting); retry later")
        }
        let now = Date()
        let row = JobRow(
            id: jobIds.next(now: now), kind: submit.kind, service: service, priority: submit.priority,
            maxAttempts: submit.maxAttempts ?? configuration.defaultMaxAttempts, params: submit.params, createdAt: now)
        var job = LiveJob(row: row, subscribers: submit.stream ? [identity] : [], durable: false)
        if let routing = configuration.generateRouting, submit.kind == routing.kind, service == routing.service {
            job.profile = routing.profile(submit.params)
        }
        jobs[row.id] = job
        waiting[service, default: 0] += 1
        persist(
            [.upsert(row), .event(JobEvent(jobId: row.id, at: now, kind: "submitted", detail: #"{"priority":\#(submit.priority)}"#))],
            then: .accept(client: identity, requestId: submit.requestId, job: row.id))
    }

    private func handleCancel(_ identity: [UInt8], _ requestId: UInt64, _ id: UUID) {
        guard var job = jobs[id] else {
            // Not live: it is final already, or unknown. The store says which.
            answerFromStore(identity, requestId) { store in
                guard let row = try store.job(id: id) else { throw RouterQueryError.notFound(id) }
                return JSONText.object(["job": id.uuidString, "state": row.state.rawValue])
            }
            return
        }
        job.cancelRequests.append((identity, requestId))
        jobs[id] = job
        if job.finishing || job.cancelRequested { return }
        let now = Date()
        switch job.row.state {
        case .queued:
            // Queued, or not yet committed: either way it never reaches a worker.
            if job.durable { queues[job.row.service]?.remove(id) }
            waiting[job.row.service, default: 1] -= 1
            finish(id, state: .cancelled, code: .cancelled, error: "cancelled before it started", at: now)
        case .running:
            job.cancelRequested = true
            jobs[id] = job
            persist([.event(JobEvent(jobId: id, at: now, kind: "cancel_requested", worker: job.row.worker))])
            if let worker = job.workerIdentity {
                send(worker: worker, .cancel(job: id, attempt: job.row.attempts))
            }
        case .succeeded, .failed, .cancelled:
            break
        }
    }

    private func handleWatch(_ identity: [UInt8], _ requestId: UInt64, _ id: UUID) {
        if var job = jobs[id] {
            if !job.subscribers.contains(identity) { job.subscribers.append(identity) }
            jobs[id] = job
            send(client: identity, .reply(requestId: requestId, body: JSONText.object(["job": id.uuidString, "state": job.row.state.rawValue])))
            return
        }
        // Final (or unknown): answer with the stored FINAL.
        let mailbox = self.mailbox
        readerQueue.async { [reader] in
            let reply: ClientReply
            do {
                if let row = try reader.job(id: id), row.state.isFinal {
                    reply = .final(.init(job: id, state: row.state.rawValue, result: row.result, code: row.errorCode, error: row.error,
                                         blobs: row.resultBytes.map { [$0] } ?? []))
                } else {
                    reply = .error(requestId: requestId, job: id, code: ErrorCode.notFound.rawValue, message: "no job \(id.uuidString)")
                }
            } catch {
                reply = .error(requestId: requestId, job: id, code: ErrorCode.storeUnavailable.rawValue, message: "\(error)")
            }
            mailbox.post(.answer(client: identity, reply: reply))
        }
    }

    /// Runs `body` against the store on the reader thread and answers with its JSON text.
    func answerFromStore(_ identity: [UInt8], _ requestId: UInt64, _ body: @escaping @Sendable (JobStore) throws -> String) {
        let mailbox = self.mailbox
        readerQueue.async { [reader] in
            let reply: ClientReply
            do {
                reply = .reply(requestId: requestId, body: try body(reader))
            } catch RouterQueryError.notFound(let id) {
                reply = .error(requestId: requestId, job: id, code: ErrorCode.notFound.rawValue, message: "no job \(id.uuidString)")
            } catch {
                reply = .error(requestId: requestId, job: nil, code: ErrorCode.storeUnavailable.rawValue, message: "\(error)")
            }
            mailbox.post(.answer(client: identity, reply: reply))
        }
    }

    /// Ends a live job in a final state: writes it, and sends FINAL once it is committed.
    func finish(_ id: UUID, state: JobState, code: ErrorCode? = nil, error: String? = nil, result: String? = nil,
                resultBytes: [UInt8]? = nil, at now: Date) {
        guard var job = jobs[id], !job.finishing else { return }
        job.finishing = true
        job.row.state = state
        job.row.finishedAt = now
        job.row.result = result
        job.row.resultBytes = resultBytes
        job.row.errorCode = code?.rawValue
        job.row.error = error
        if state != .failed, code == nil { job.row.error = nil }
        throughput[job.row.service, default: ThroughputMeter()].record(atSecond: Int64(now.timeIntervalSince1970))
        jobs[id] = job
        // Built by hand on this per-job path: JSONSerialization costs more than the rest of a job here.
        let detail = error.map { #"{"attempts":\#(job.row.attempts),"error":\#(JSONLiteral.quoted($0))}"# } ?? #"{"attempts":\#(job.row.attempts)}"#
        persist([.upsert(job.row), .event(JobEvent(jobId: id, at: now, kind: state.rawValue, worker: job.row.worker, detail: detail))],
                then: .finish(job: id))
    }
}

enum RouterQueryError: Error {
    case notFound(UUID)
}
