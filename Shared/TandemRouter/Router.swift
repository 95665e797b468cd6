import CZeroMQ
import Foundation
import Logging
import TandemStore
import TandemTransport
import TandemWire

/// The broker: accepts jobs from clients, keeps the worker registry and per-service queues,
/// dispatches, relays streams, and owns every job-state write to PostgreSQL.
///
/// One thread runs `run()`, polling the client socket, the worker socket and a mailbox that the
/// store threads post to; every field below belongs to that thread. A job is acknowledged only
/// after its row is committed (`AfterCommit.accept`), and a FINAL goes out only after the final
/// state is committed, so what a client was told is always in the job store.
public final class Router: @unchecked Sendable {
    enum Event: Sendable {
        case committed([UInt64])
        case rejected([JobWriteRejection])
        case answer(client: [UInt8], reply: ClientReply)
        case stop
    }

    enum AfterCommit {
        case accept(client: [UInt8], requestId: UInt64, job: UUID)
        case finish(job: UUID)
    }

    let configuration: RouterConfiguration
    let logger: Logger
    let context = ZMQContext()
    let clients: ZMQSocket
    let workers: ZMQSocket
    let mailbox = Mailbox<Event>()
    let writer: JobStoreWriter
    let reader: JobStore
    let readerQueue = BackgroundQueue(name: "tandem-router-store-reader")

    /// Bound endpoints, with the ports chosen for `*`.
    public let clientEndpoint: String
    public let workerEndpoint: String

    var jobs: [UUID: LiveJob] = [:]
    var queues: [String: JobQueue] = [:]
    /// Jobs per service that are submitted but not yet dispatched (committed or not): the bound for `busy`.
    var waiting: [String: Int] = [:]
    var workerTable: [[UInt8]: WorkerRecord] = [:]
    /// Unknown worker identities recently answered with DISCONNECT.
    var toldToRegister: [[UInt8]: ContinuousClock.Instant] = [:]
    var afterCommit: [UInt64: AfterCommit] = [:]
    var nextToken: UInt64 = 1
    var dispatchSerial: UInt64 = 0
    var jobIds = JobIdGenerator()
    var throughput: [String: ThroughputMeter] = [:]
    var running = true

    /// Opens the store (migrating it), recovers unfinished jobs and binds both sockets.
    public init(configuration: RouterConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let store = try StoreConfiguration(databaseURL: configuration.databaseURL, schema: configuration.schema)
        reader = try JobStore(configuration: store, logger: logger)
        _ = try reader.migrate()
        let mailbox = self.mailbox
        writer = try JobStoreWriter(
            configuration: store, logger: logger, onCommitted: { mailbox.post(.committed($0)) },
            onRejected: { mailbox.post(.rejected($0)) })

        clients = try ZMQSocket(context: context, kind: .router)
        workers = try ZMQSocket(context: context, kind: .router)
        for socket in [clients, workers] {
            try socket.applyProtocolLimits()
            try socket.setInt32(ZMQ_ROUTER_MANDATORY, 1)
        }
        do {
            clientEndpoint = try clients.bind(configuration.clientEndpoint)
            workerEndpoint = try workers.bind(configuration.workerEndpoint)
        } catch {
            // Another router holds the ports, say: close what was opened so the process exits
            // with the error instead of waiting on open sockets and the writer.
            clients.close()
            workers.close()
            writer.shutdown()
            throw error
        }

        let recovered = try reader.recoverAfterRestart(reason: "router restarted while the job was running")
        for row in recovered {
            var job = LiveJob(row: row, subscribers: [], durable: true)
            // What earlier attempts streamed: relayed once, and handed to the next attempt to resume from.
            for output in try reader.outputs(jobId: row.id) where output.seq >= job.nextSeq {
                job.ledger += Array(repeating: nil, count: Int(output.seq - job.nextSeq)) + [output.data]
            }
            jobs[row.id] = job
            waiting[row.service, default: 0] += 1
            enqueue(row)
        }
        logger.info("router ready", metadata: [
            "clients": "\(clientEndpoint)", "workers": "\(workerEndpoint)", "recovered": "\(recovered.count)",
        ])
    }

    /// Runs the poll loop until `stop()`.
    public func run() {
        var poller = Poller([.socket(clients), .socket(workers), .fileDescriptor(mailbox.wakeup.fileDescriptor)])
        while running {
            let timeout = millisecondsUntilNextTimer()
            let ready: [Bool]
            do {
                ready = try poller.poll(timeoutMilliseconds: timeout)
            } catch {
                logger.critical("poll failed: \(error)")
                break
            }
            if ready[2] { handleMailbox() }
            // Bounded bursts so neither side starves the other.
            if ready[0] { drain(clients, limit: 1000, handler: handleClient) }
            if ready[1] { drain(workers, limit: 1000, handler: handleWorker) }
            checkWorkers()
            dispatch()
        }
        writer.shutdown()
        readerQueue.stop()
        clients.close()
        workers.close()
        logger.info("router stopped")
    }

    /// Asks the loop to stop; safe from any thread.
    public func stop() {
        mailbox.post(.stop)
    }

    private func drain(_ socket: ZMQSocket, limit: Int, handler: ([UInt8], [[UInt8]]) -> Void) {
        for _ in 0..<limit {
            let received: ZMQSocket.Received?
            do {
                received = try socket.receive(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                return
            }
            switch received {
            case nil:
                return
            case .frames(let frames)?:
                guard let identity = frames.first else { continue }
                handler(identity, Array(frames.dropFirst()))
            case .tooManyFrames(let identity, let count)?:
                logger.warning("dropped a message of \(count) frames")
                if let identity, socket === clients {
                    send(client: identity, .error(requestId: nil, job: nil, code: ErrorCode.tooLarge.rawValue, message: WireError.tooManyFrames(count).description))
                }
            }
        }
    }

    private func handleMailbox() {
        for event in mailbox.takeAll() {
            switch event {
            case .committed(let tokens):
                for token in tokens {
                    if let action = afterCommit.removeValue(forKey: token) { perform(action) }
                }
            case .rejected(let rejections):
                for rejection in rejections { handleRejection(rejection) }
            case .answer(let client, let reply):
                send(client: client, reply)
            case .stop:
                running = false
            }
        }
    }

    private func perform(_ action: AfterCommit) {
        switch action {
        case .accept(let client, let requestId, let id):
            guard var job = jobs[id] else { return }
            job.durable = true
            jobs[id] = job
            send(client: client, .accepted(requestId: requestId, job: id))
            if job.row.state == .queued { enqueue(job.row) }
        case .finish(let id):
            guard let job = jobs.removeValue(forKey: id) else { return }
            let row = job.row
            let final = ClientReply.final(.init(
                job: id, state: row.state.rawValue, result: row.result, code: row.errorCode, error: row.error,
                blobs: row.resultBytes.map { [$0] } ?? []))
            for subscriber in job.subscribers { send(client: subscriber, final) }
            for request in job.cancelRequests {
                send(client: request.identity, .reply(requestId: request.requestId, body: JSONText.object(["job": id.uuidString, "state": row.state.rawValue])))
            }
        }
    }

    /// PostgreSQL refused a write for good (bad data, not an outage). A refused submission is
    /// answered with ERROR and forgotten; a refused final state fails the job without its result.
    private func handleRejection(_ rejection: JobWriteRejection) {
        logger.error("the job store refused a write: \(rejection.reason)")
        guard let token = rejection.token, let action = afterCommit.removeValue(forKey: token) else { return }
        switch action {
        case .accept(let client, let requestId, let id):
            guard let job = jobs.removeValue(forKey: id) else { return }
            if job.row.state == .queued { waiting[job.row.service, default: 1] -= 1 }
            send(client: client, .error(requestId: requestId, job: nil, code: ErrorCode.invalidParams.rawValue,
                                        message: "the job store refused the job: \(rejection.reason)"))
        case .finish(let id):
            guard var job = jobs[id] else { return }
            job.finishing = false
            jobs[id] = job
            finish(id, state: .failed, code: .internal, error: "the job store refused the job's final state: \(rejection.reason)", at: Date())
        }
    }

    /// Hands writes to the group-commit writer; `then` runs on this thread after they commit.
    func persist(_ writes: [JobWrite], then action: AfterCommit? = nil) {
        var token: UInt64?
        if let action {
            token = nextToken
            afterCommit[nextToken] = action
            nextToken += 1
        }
        writer.enqueue(contentsOf: writes, token: token)
    }

    func enqueue(_ row: JobRow) {
        queues[row.service, default: JobQueue()].push(row.id, priority: row.priority)
    }

    func send(client identity: [UInt8], _ reply: ClientReply) {
        do {
            try clients.send(to: identity, reply.frames, wait: false)
        } catch let error as ZMQError where error.isHostUnreachable {
            // The client went away; its jobs carry on and stay queryable.
        } catch {
            logger.warning("reply to client dropped: \(error)")
        }
    }

    /// Sends to a worker; a worker that cannot be reached is treated as gone.
    func send(worker identity: [UInt8], _ message: RouterMessage) {
        do {
            try workers.send(to: identity, message.frames, wait: false)
        } catch let error as ZMQError where error.isHostUnreachable {
            // Its connection is gone, but what it sent last (RELEASEs before its DISCONNECT, say) may
            // still wait in our queue: stop giving it work and let it expire shortly, after those are read.
            if let worker = workerTable[identity] {
                workerTable[identity]!.draining = true
                workerTable[identity]!.lastHeard = min(worker.lastHeard, .now - worker.heartbeatInterval * worker.ready.liveness + .milliseconds(250))
            }
        } catch {
            logger.warning("message to worker dropped: \(error)")
        }
    }

    private func millisecondsUntilNextTimer() -> Int {
        let now = ContinuousClock.now
        var next = now + .milliseconds(configuration.heartbeatMilliseconds)
        for worker in workerTable.values {
            next = min(next, worker.nextHeartbeat, worker.lastHeard + worker.heartbeatInterval * worker.ready.liveness)
        }
        let wait = next - now
        return max(0, Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000) + 1)
    }
}
