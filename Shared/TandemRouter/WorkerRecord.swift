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
    /// The load the worker last reported with a heartbeat, and its prefix hashes as a set.
    var load: WorkerLoad?
    var cachedPrefixes: Set<UInt64> = []

    var freeSlots: Int { draining ? 0 : max(0, ready.capacity - inFlight.count) }

    var heartbeatInterval: Duration { .milliseconds(ready.heartbeatMilliseconds) }

    /// The worker is dead once `liveness` heartbeat intervals pass without a message from it.
    func isExpired(at now: ContinuousClock.Instant) -> Bool {
        now - lastHeard > heartbeatInterval * ready.liveness
    }

    let identityHex: String
    /// How jobs and `tandem workers` name it: its announced name, else its identity in hex.
    var displayName: String { ready.name ?? identityHex }

    init(identity: [UInt8], ready: WorkerMessage.Ready, registeredAt: Date, lastHeard: ContinuousClock.Instant, nextHeartbeat: ContinuousClock.Instant) {
        self.identity = identity
        self.ready = ready
        self.registeredAt = registeredAt
        self.lastHeard = lastHeard
        self.nextHeartbeat = nextHeartbeat
        identityHex = identity.map { String(format: "%02x", $0) }.joined()
    }
}
