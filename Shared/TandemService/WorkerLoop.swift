import CZeroMQ
import Foundation
import Logging
import Synchronization
import TandemTransport
import TandemWire

/// The worker side of the protocol, on one thread that owns the DEALER socket.
///
/// Jobs run as Swift tasks; they talk to this thread only through `post`, which queues a message
/// and wakes the poll. The loop registers (READY), heartbeats, reconnects when the router goes
/// quiet for `liveness` intervals, and re-registers when the router says it does not know us.
final class WorkerLoop: @unchecked Sendable {
    enum Command: Sendable {
        case send(WorkerMessage)
        case finished(UUID, attempt: Int32, WorkerMessage)
        case beginShutdown
    }

    private struct Running {
        var attempt: Int32
        var task: Task<Void, Never>
    }

    let configuration: WorkerConfiguration
    let handler: any JobHandler
    let logger: Logger
    private let context = ZMQContext()
    private let wakeup = Wakeup()
    private let inbox = Mutex<[Command]>([])
    private var socket: ZMQSocket!
    private var running: [UUID: Running] = [:]
    private var lastHeard = ContinuousClock.now
    private var nextHeartbeat = ContinuousClock.now
    private var shutdownDeadline: ContinuousClock.Instant?
    private var finished = false
    /// Jobs handled since start, for logs and tests.
    private(set) var completed = 0

    init(configuration: WorkerConfiguration, handler: any JobHandler, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    func post(_ command: Command) {
        // One wake-up per batch: a non-empty inbox already has one pending (handleInbox drains first).
        let wasEmpty = inbox.withLock { commands in
            commands.append(command)
            return commands.count == 1
        }
        if wasEmpty { wakeup.signal() }
    }

    private var heartbeatInterval: Duration { .milliseconds(configuration.heartbeatMilliseconds) }

    /// Runs until a graceful shutdown completes.
    func run() throws {
        try connect()
        var poller = Poller([.socket(socket), .fileDescriptor(wakeup.fileDescriptor)])
        while !finished {
            let ready = try poller.poll(timeoutMilliseconds: max(1, configuration.heartbeatMilliseconds / 4))
            if ready[1] { handleInbox() }
            if ready[0] { receiveAll() }
            let now = ContinuousClock.now
            if now - lastHeard > heartbeatInterval * configuration.liveness {
                logger.warning("router silent for \(configuration.liveness) heartbeats; reconnecting")
                abandonAll(reason: "router lost")
                try connect()
                poller = Poller([.socket(socket), .fileDescriptor(wakeup.fileDescriptor)])
            }
            if now >= nextHeartbeat {
                send(.heartbeat(running: running.count, load: handler.load))
                nextHeartbeat = now + heartbeatInterval
            }
            if let deadline = shutdownDeadline, running.isEmpty || now >= deadline { completeShutdown() }
        }
        // Let the last RELEASE and DISCONNECT leave before the socket goes (sockets default to linger 0).
        try? socket.setInt32(ZMQ_LINGER, 2000)
        socket.close()
    }

    private func connect() throws {
        socket?.close()
        socket = try ZMQSocket(context: context, kind: .dealer)
        try socket.applyProtocolLimits()
        try socket.connect(configuration.routerEndpoint)
        lastHeard = .now
        register()
    }

    private func register() {
        let name = configuration.name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        send(.ready(.init(service: configuration.service, capacity: configuration.capacity,
                          heartbeatMilliseconds: configuration.heartbeatMilliseconds, liveness: configuration.liveness,
                          dataEndpoint: configuration.dataEndpoint, name: name)))
        nextHeartbeat = .now + heartbeatInterval
        logger.info("registered with the router", metadata: ["router": "\(configuration.routerEndpoint)", "service": "\(configuration.service)"])
    }

    private func send(_ message: WorkerMessage) {
        do {
            // Never block the loop: a full queue to a dead router is handled by the liveness check.
            if try !socket.send(message.frames, wait: false) { logger.warning("router queue full; message dropped") }
        } catch {
            logger.warning("send failed: \(error)")
        }
    }

    private func handleInbox() {
        wakeup.drain()
        let commands = inbox.withLock { commands in
            defer { commands.removeAll(keepingCapacity: true) }
            return commands
        }
        for command in commands {
            switch command {
            case .send(let message):
                if case .partial(let id, let attempt, _, _, _) = message, running[id]?.attempt != attempt { continue }
                send(message)
            case .finished(let id, let attempt, let message):
                guard running[id]?.attempt == attempt else { continue }  // abandoned or handed back
                running[id] = nil
                completed += 1
                send(message)
            case .beginShutdown:
                guard shutdownDeadline == nil else { continue }
                logger.info("shutting down: draining \(running.count) jobs")
                send(.drain)
                shutdownDeadline = .now + .milliseconds(configuration.shutdownGraceMilliseconds)
            }
        }
    }

    private func receiveAll() {
        while true {
            let received: ZMQSocket.Received?
            do {
                received = try socket.receive(wait: false)
            } catch {
                logger.warning("receive failed: \(error)")
                return
            }
            guard case .frames(let frames)? = received else {
                if received == nil { return }
                continue
            }
            lastHeard = .now
            let message: RouterMessage
            do {
                message = try RouterMessage(frames: frames)
            } catch {
                logger.notice("refused a router message: \(error)")
                continue
            }
            handle(message)
        }
    }

    private func handle(_ message: RouterMessage) {
        switch message {
        case .heartbeat:
            break
        case .disconnect(let reason):
            logger.warning("router asked to register again: \(reason)")
            abandonAll(reason: reason)
            if shutdownDeadline == nil { register() }
        case .cancel(let id, let attempt):
            if let job = running[id], job.attempt == attempt { job.task.cancel() }
        case .dispatch(let dispatch):
            if shutdownDeadline != nil || running.count >= configuration.capacity {
                send(.release(job: dispatch.job, attempt: dispatch.attempt, reason: shutdownDeadline != nil ? "worker shutting down" : "worker full"))
                return
            }
            start(dispatch)
        }
    }

    private func start(_ job: DispatchedJob) {
        let context = JobContext(job: job, logger: logger) { [weak self] message in self?.post(.send(message)) }
        let handler = self.handler
        let task = Task.detached { [weak self] in
            let reply: WorkerMessage
            do {
                let outcome = try await handler.run(job, context: context)
                reply = .final(job: job.id, attempt: job.attempt, result: outcome.result, blobs: outcome.blobs)
            } catch is CancellationError {
                reply = .cancelled(job: job.id, attempt: job.attempt)
            } catch let failure as JobFailure {
                context.logger.warning("job failed: \(failure)")
                reply = .fail(job: job.id, attempt: job.attempt, code: failure.code, message: failure.message, retryable: failure.retryable)
            } catch {
                context.logger.error("job failed: \(error)")
                reply = .fail(job: job.id, attempt: job.attempt, code: "worker_failed", message: "\(error)", retryable: true)
            }
            self?.post(.finished(job.id, attempt: job.attempt, reply))
        }
        running[job.id] = Running(attempt: job.attempt, task: task)
    }

    /// Drops every running job without reporting it: the router has re-queued them already.
    private func abandonAll(reason: String) {
        guard !running.isEmpty else { return }
        logger.warning("abandoning \(running.count) jobs: \(reason)")
        for job in running.values { job.task.cancel() }
        running.removeAll()
    }

    private func completeShutdown() {
        for (id, job) in running {
            job.task.cancel()
            send(.release(job: id, attempt: job.attempt, reason: "worker shut down before the job finished"))
        }
        running.removeAll()
        send(.disconnect(reason: "shutdown"))
        finished = true
        logger.info("worker stopped")
    }
}
