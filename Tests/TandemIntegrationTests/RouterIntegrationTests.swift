import Foundation
import TandemClient
import TandemStore
import TandemWire
import TestSupport
import XCTest

/// The backbone end to end: real PostgreSQL, a real router and real worker processes on 127.0.0.1.
final class RouterIntegrationTests: ServiceTestCase {
    private func client(_ router: LocalRouter) throws -> RouterClient {
        try RouterClient(configuration: .init(routerEndpoint: router.clientEndpoint, replyTimeoutMilliseconds: 10_000))
    }

    private func store() throws -> JobStore {
        try JobStore(configuration: StoreConfiguration(databaseURL: database.url, schema: database.schema))
    }

    private func workerNames(_ client: RouterClient) throws -> [String] {
        let answer = try client.query(.workers) as? [String: Any]
        return (answer?["workers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    private func running(_ client: RouterClient, service: String = "echo") throws -> Int {
        let answer = try client.query(.queues) as? [String: Any]
        let queue = (answer?["queues"] as? [[String: Any]] ?? []).first { $0["service"] as? String == service }
        return queue?["running"] as? Int ?? 0
    }

    func testJobSubmittedThroughTheCLIIsCommittedDispatchedStreamedAndFinished() throws {
        let router = try startRouter()
        _ = try startWorker(router, capacity: 4, name: "w1")
        let client = try client(router)
        eventually(timeout: 10, "worker registers") { try workerNames(client) == ["w1"] }

        let cli = try ChildProcess(BuiltExecutables.url("tandem"), [
            "submit", "echo", "--params", #"{"text":"hello ✓","chunks":3,"delay_ms":20}"#, "--wait", "--json", "--router", router.clientEndpoint,
        ], name: "cli")
        XCTAssertEqual(cli.waitForExit(timeout: 30), 0, cli.log)
        let lines = cli.log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, 4, cli.log)
        XCTAssertEqual(lines.prefix(3).compactMap { $0["seq"] as? Int }, [0, 1, 2])
        XCTAssertEqual((lines.first?["data"] as? [String: Any])?["text"] as? String, "hello ✓")
        let final = try XCTUnwrap(lines.last)
        XCTAssertEqual(final["state"] as? String, "succeeded")
        XCTAssertEqual((final["result"] as? [String: Any])?["echo"] as? String, "hello ✓")

        let id = try XCTUnwrap(UUID(uuidString: final["job"] as? String ?? ""))
        let store = try store()
        let row = try XCTUnwrap(try store.job(id: id))
        XCTAssertEqual(row.state, .succeeded)
        XCTAssertEqual(row.attempts, 1)
        XCTAssertEqual(row.worker, "w1")
        XCTAssertNotNil(row.finishedAt)
        XCTAssertEqual(try store.events(jobId: id).map(\.kind), ["submitted", "dispatched", "succeeded"])
        XCTAssertEqual(try store.outputs(jobId: id).map(\.seq), [0, 1, 2])
    }

    func testKilledWorkersJobsAllFinishOnAnotherWorkerOnce() throws {
        let router = try startRouter()
        let doomed = try startWorker(router, capacity: 20, name: "doomed")
        let client = try client(router)
        eventually(timeout: 10, "worker registers") { try workerNames(client) == ["doomed"] }

        let ids = try (0..<20).map { index in
            try client.submit(kind: "echo", params: #"{"text":"job \#(index)","chunks":2,"delay_ms":700}"#)
        }
        eventually(timeout: 10, "all 20 jobs run on the doomed worker") { try running(client) == 20 }
        doomed.kill9()
        _ = try startWorker(router, capacity: 20, name: "rescuer")

        var finals: [UUID: ClientReply.Final] = [:]
        var partials: [UUID: [Int64]] = [:]
        let deadline = Date().addingTimeInterval(60)
        while finals.count < 20, Date() < deadline {
            guard let reply = try client.receive(timeoutMilliseconds: 1000) else { continue }
            switch reply {
            case .final(let final):
                XCTAssertNil(finals[final.job], "a second FINAL for \(final.job)")
                finals[final.job] = final
            case .partial(let partial): partials[partial.job, default: []].append(partial.seq)
            default: break
            }
        }
        XCTAssertEqual(Set(finals.keys), Set(ids))
        XCTAssertTrue(finals.values.allSatisfy { $0.state == "succeeded" })
        // The router relays each partial once, even though the retried job streamed it again.
        for id in ids { XCTAssertEqual(partials[id], [0, 1], "partials of \(id)") }

        let store = try store()
        for id in ids {
            let row = try XCTUnwrap(try store.job(id: id))
            XCTAssertEqual(row.state, .succeeded)
            XCTAssertEqual(row.worker, "rescuer")
            XCTAssertEqual(row.attempts, 2)
            let kinds = try store.events(jobId: id).map(\.kind)
            XCTAssertEqual(kinds.filter { $0 == "succeeded" }.count, 1)
            XCTAssertTrue(kinds.contains("requeued"), "\(kinds)")
            XCTAssertEqual(try store.outputs(jobId: id).map(\.seq), [0, 1])
        }
    }

    func testKilledRouterRestartsAndEveryJobReachesAFinalState() throws {
        let first = try startRouter()
        _ = try startWorker(first, capacity: 10, name: "survivor")
        let client = try client(first)
        eventually(timeout: 10, "worker registers") { try workerNames(client) == ["survivor"] }

        let ids = try (0..<50).map { index in
            try client.submit(kind: "echo", params: #"{"text":"\#(index)","delay_ms":200}"#, stream: false)
        }
        // One client streams a job across the restart, on its own thread: its stream must survive.
        let stream = StreamRecorder()
        let streamer = Thread { [endpoint = first.clientEndpoint] in
            do {
                let client = try RouterClient(configuration: .init(routerEndpoint: endpoint))
                let job = try client.submit(kind: "echo", params: #"{"text":"across","chunks":4,"delay_ms":1500}"#)
                let final = try client.follow(job, timeoutMilliseconds: 60_000) { stream.record($0.seq) }
                stream.finish(final.state)
            } catch {
                stream.finish("error: \(error)")
            }
        }
        streamer.start()
        eventually(timeout: 10, "jobs are running") { try running(client) > 0 }
        eventually(timeout: 10, "the streamed job's first partial arrived") { stream.seqs == [0] }
        first.process.kill9()
        let store = try store()
        let states = try store.countsByState()
        XCTAssertGreaterThan((states[.queued] ?? 0) + (states[.running] ?? 0), 0, "some jobs were still unfinished at the kill")

        let second = try startRouter(clients: first.clientEndpoint, workers: first.workerEndpoint)
        let newClient = try self.client(second)
        eventually(timeout: 60, "all 50 jobs final") {
            try ids.allSatisfy { try store.job(id: $0)?.state.isFinal == true }
        }
        for id in ids { XCTAssertEqual(try store.job(id: id)?.state, .succeeded) }
        eventually(timeout: 60, "the streaming client got its FINAL") { stream.result != nil }
        XCTAssertEqual(stream.result, "succeeded")
        XCTAssertEqual(stream.seqs, [0, 1, 2, 3], "the stream went on across the restart without gaps or duplicates")
        eventually(timeout: 10, "the worker registered with the new router") { try workerNames(newClient) == ["survivor"] }
    }

    func testFullQueueAnswersBusyAtOnce() throws {
        let router = try startRouter(["--max-queue", "5"])
        let client = try client(router)
        for index in 0..<5 { _ = try client.submit(kind: "echo", params: #"{"text":"\#(index)"}"#, stream: false) }
        let start = Date()
        XCTAssertThrowsError(try client.submit(kind: "echo", params: "{}")) { error in
            XCTAssertEqual((error as? ClientError)?.code, "busy", "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "busy is an immediate answer")
        XCTAssertThrowsError(try client.submit(kind: "no-such-kind", params: "{}")) { error in
            XCTAssertEqual((error as? ClientError)?.code, "unknown_kind")
        }
        XCTAssertThrowsError(try client.submit(kind: "echo", params: "[1]")) { error in
            XCTAssertEqual((error as? ClientError)?.code, "invalid_params")
        }
        // Valid JSON that PostgreSQL's jsonb refuses (a NUL character): refused, not left hanging.
        XCTAssertThrowsError(try client.submit(kind: "render", params: #"{"text":"\u0000"}"#)) { error in
            XCTAssertEqual((error as? ClientError)?.code, "invalid_params", "\(error)")
        }
    }

    func testCancelStopsARunningJobOnItsWorkerAndAQueuedOne() throws {
        let router = try startRouter()
        _ = try startWorker(router, capacity: 1, name: "single")
        let client = try client(router)
        eventually(timeout: 10, "worker registers") { try workerNames(client) == ["single"] }

        let long = try client.submit(kind: "echo", params: #"{"text":"long","delay_ms":30000}"#, stream: false)
        let queued = try client.submit(kind: "echo", params: #"{"text":"queued"}"#, stream: false)
        eventually(timeout: 10, "the long job runs") { try running(client) == 1 }

        let queuedAnswer = try client.cancel(queued) as? [String: Any]
        XCTAssertEqual(queuedAnswer?["state"] as? String, "cancelled")
        let start = Date()
        let runningAnswer = try client.cancel(long) as? [String: Any]
        XCTAssertEqual(runningAnswer?["state"] as? String, "cancelled")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the worker stopped the job instead of finishing it")

        // The worker's only slot is free again: a new job runs and finishes.
        let next = try client.submit(kind: "echo", params: #"{"text":"next"}"#)
        XCTAssertEqual(try client.follow(next, timeoutMilliseconds: 10_000).state, "succeeded")

        let store = try store()
        XCTAssertEqual(try store.job(id: long)?.state, .cancelled)
        XCTAssertEqual(try store.job(id: queued)?.state, .cancelled)
        XCTAssertEqual(try store.events(jobId: long).map(\.kind), ["submitted", "dispatched", "cancel_requested", "cancelled"])
        XCTAssertEqual(try store.events(jobId: queued).map(\.kind), ["submitted", "cancelled"])
    }

    func testSIGTERMHandsRunningJobsBackWithoutChargingAnAttempt() throws {
        let router = try startRouter()
        // A long liveness (3 × 1 s) so a slow machine cannot declare the worker dead while it drains.
        let leaving = try startWorker(router, capacity: 4, name: "leaving", heartbeatMilliseconds: 1000)
        let client = try client(router)
        eventually(timeout: 10, "worker registers") { try workerNames(client) == ["leaving"] }

        let ids = try (0..<4).map { index in
            try client.submit(kind: "echo", params: #"{"text":"\#(index)","delay_ms":20000}"#, stream: false)
        }
        eventually(timeout: 10, "the jobs run") { try running(client) == 4 }
        // A short grace period: the jobs cannot finish in it, so they are handed back.
        XCTAssertEqual(leaving.terminate(grace: 10), 0, "a worker stopped by SIGTERM exits cleanly")
        eventually(timeout: 5, "the worker is gone") { try workerNames(client).isEmpty }

        let store = try store()
        for id in ids {
            let row = try XCTUnwrap(try store.job(id: id))
            XCTAssertEqual(row.state, .queued, "a released job waits for another worker")
            XCTAssertEqual(row.attempts, 0, "RELEASE charges no attempt")
            XCTAssertEqual(try store.events(jobId: id).map(\.kind), ["submitted", "dispatched", "requeued"])
        }
    }
}

/// What a streaming client saw, written from its thread and read by the test.
private final class StreamRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Int64] = []
    private var final: String?

    func record(_ seq: Int64) { lock.withLock { recorded.append(seq) } }
    func finish(_ state: String) { lock.withLock { final = state } }
    var seqs: [Int64] { lock.withLock { recorded } }
    var result: String? { lock.withLock { final } }
}
