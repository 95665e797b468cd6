import Foundation
import TandemWire

/// What the router knows of one connected worker.
struct WorkerRecord {
    /// The ZeroMQ routing identity of the worker's socket.
    let identity: [UInt8]
    let ready: WorkerMessage.Ready
    let registeredAt: Date
    /// Jobs the worker holds, with the attempt it was given.
    var inFlight: [UUID: Int32] = [:]
    var draining = false
    var lastHeard: ContinuousClock.Instant
    var nextHeartbeat: ContinuousClock.Instant
    var lastDispatch: UInt64 = 0
    var completed: Int = 0

    var freeSlots: Int { draining ? 0 : max(0, ready.capacity - inFlight.count) }

    var heartbeatInterval: Duration { .milliseconds(ready.heartbeatMilliseconds) }

    /// The worker is dead once `liveness` heartbeat intervals pass without a message from it.
    func isExpired(at now: ContinuousClock.Instant) -> Bool {
        now - lastHeard > heartbeatInterval * ready.liveness
    }

    var identityHex: String { identity.map { String(format: "%02x", $0) }.joined() }
}
