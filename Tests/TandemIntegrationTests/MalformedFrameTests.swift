import CZeroMQ
import Foundation
import TandemClient
import TandemTransport
import TandemWire
import TestSupport
import XCTest

/// Garbage on the wire must be refused with a typed error and must never take a process down.
final class MalformedFrameTests: ServiceTestCase {
    /// Messages that are wrong in every way the decoder knows, plus random bytes.
    private func garbage() -> [[[UInt8]]] {
        let version = ProtocolConstants.versionTag
        var messages: [[[UInt8]]] = [
            [[0xde, 0xad]],
            [version],
            [Array("TNDM99".utf8), [0x01], [0x80]],
            [version, [0x7f], [0x80]],
            [version, [0x01, 0x02], [0x80]],
            [version, [0x01], [0x81, 0xa1, 0x61, 0xc1]],
            [version, [0x01], [0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]],
            [version, [0x01], Array(repeating: 0x91, count: 100)],
            [version, [0x01], Array(repeating: 0xc0, count: ProtocolConstants.maxHeaderBytes + 10)],
            [version, [0x01], [0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]],
            [version, [0x01], [0x81, 0xa1, 0x61, 0xa2, 0xc3, 0x28]],
            [version, [0x21], MessagePackCodec.encode(["service": .string("echo")])],
            [version, [0x01], MessagePackCodec.encode(["req": .int(1)])],
            [version, [0x01], [0x80]] + Array(repeating: [0], count: 100),
        ]
        var state: UInt64 = 7
        for _ in 0..<200 {
            var frames: [[UInt8]] = [version, [UInt8(truncatingIfNeeded: state >> 7)]]
            let length = Int(state % 40)
            frames.append((0..<length).map { index in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 33) &+ UInt8(index)
            })
            messages.append(frames)
        }
        return messages
    }

    func testRouterRefusesGarbageOnBothSocketsAndKeepsServing() throws {
        let router = try startRouter()
        let worker = try startWorker(router, capacity: 2, name: "w")

        let context = ZMQContext()
        let rogueClient = try ZMQSocket(context: context, kind: .dealer)
        try rogueClient.connect(router.clientEndpoint)
        let rogueWorker = try ZMQSocket(context: context, kind: .dealer)
        try rogueWorker.connect(router.workerEndpoint)
        defer { rogueClient.close(); rogueWorker.close() }

        let messages = garbage()
        for message in messages {
            try rogueClient.send(message)
            try rogueWorker.send(message)
        }
        // A client's malformed message is answered with a typed ERROR.
        var errors: [String] = []
        var poller = Poller([.socket(rogueClient)])
        let deadline = Date().addingTimeInterval(10)
        while errors.count < messages.count, Date() < deadline {
            guard try poller.poll(timeoutMilliseconds: 200)[0] else { continue }
            while case .frames(let frames)? = try rogueClient.receive(wait: false) {
                if case .error(_, _, let code, _) = try ClientReply(frames: frames) { errors.append(code) }
            }
        }
        XCTAssertEqual(errors.count, messages.count, "one ERROR per malformed client message")
        for code in ["unsupported_version", "unknown_command", "bad_frame", "too_large", "missing_field"] {
            XCTAssertTrue(errors.contains(code), "no \(code) among \(Set(errors))")
        }

        // An oversized frame (beyond ZMQ_MAXMSGSIZE) costs the sender its connection, nothing more.
        let oversized = try ZMQSocket(context: context, kind: .dealer)
        try oversized.connect(router.clientEndpoint)
        try oversized.send([ProtocolConstants.versionTag, [0x01], [0x80], [UInt8](repeating: 1, count: ProtocolConstants.maxBlobBytes + 1)])
        Thread.sleep(forTimeInterval: 0.5)
        oversized.close()

        XCTAssertTrue(router.process.isRunning)
        XCTAssertTrue(worker.isRunning)
        let client = try RouterClient(configuration: .init(routerEndpoint: router.clientEndpoint))
        let job = try client.submit(kind: "echo", params: #"{"text":"still here"}"#)
        let final = try client.follow(job, timeoutMilliseconds: 10_000)
        XCTAssertEqual(final.state, "succeeded")
    }

    func testWorkerRefusesGarbageAndKeepsServing() throws {
        // The test plays the router: a ROUTER socket the worker connects to.
        let context = ZMQContext()
        let fakeRouter = try ZMQSocket(context: context, kind: .router)
        try fakeRouter.setInt32(ZMQ_ROUTER_MANDATORY, 1)
        let endpoint = try fakeRouter.bind("tcp://127.0.0.1:*")
        defer { fakeRouter.close() }
        let worker = try ChildProcess(BuiltExecutables.url("tandem-echo"), ["--router", endpoint, "--capacity", "1", "--heartbeat-ms", "2000"], name: "echo")
        children.append(worker)

        var poller = Poller([.socket(fakeRouter)])
        func next(timeout: TimeInterval = 10) throws -> (identity: [UInt8], message: WorkerMessage)? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if case .frames(let frames)? = try fakeRouter.receive(wait: false) {
                    return (frames[0], try WorkerMessage(frames: Array(frames.dropFirst())))
                }
                _ = try poller.poll(timeoutMilliseconds: 100)
            }
            return nil
        }
        let ready = try XCTUnwrap(try next())
        guard case .ready(let announced) = ready.message else { return XCTFail("expected READY, got \(ready.message)") }
        XCTAssertEqual(announced.service, "echo")

        for message in garbage() { try fakeRouter.send(to: ready.identity, message) }
        try fakeRouter.send(to: ready.identity, RouterMessage.heartbeat.frames)
        let job = UUID()
        try fakeRouter.send(to: ready.identity, RouterMessage.dispatch(.init(job: job, attempt: 1, kind: "echo", params: #"{"text":"ok"}"#)).frames)
        var final: WorkerMessage?
        let deadline = Date().addingTimeInterval(10)
        while final == nil, Date() < deadline, let received = try next(timeout: 1) {
            if case .final = received.message { final = received.message }
        }
        guard case .final(let id, let attempt, let result, _)? = final else { return XCTFail("no FINAL from the worker; log:\n\(worker.log)") }
        XCTAssertEqual(id, job)
        XCTAssertEqual(attempt, 1)
        XCTAssertTrue(result?.contains("\"ok\"") == true)
        XCTAssertTrue(worker.isRunning)
    }
}
