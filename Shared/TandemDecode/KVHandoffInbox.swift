import Foundation
import Synchronization
import TandemTransport
import TandemWire

/// The decode worker's data-plane socket: receives prompts' KV blocks from prefill workers,
/// acknowledges each, and keeps them until the job that asked for them takes them.
///
/// One thread owns the ROUTER socket (ZeroMQ sockets belong to one thread); jobs wait with `take`.
public final class KVHandoffInbox: Sendable {
    /// The bound endpoint, announced to the router in READY and sent to prefill workers.
    public let endpoint: String
    private let received = Mutex<[String: (handoff: KVHandoff, at: ContinuousClock.Instant)]>([:])

    /// Binds `endpoint` (`tcp://127.0.0.1:*` picks a free port) and starts the receiving thread.
    public init(bind: String) throws {
        let context = ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        try socket.applyProtocolLimits()
        endpoint = try socket.bind(bind)
        let thread = Thread { [self] in
            _ = context  // the context lives as long as its socket
            while true {
                guard let message = try? socket.receive(wait: true), case .frames(let frames) = message, frames.count >= 2 else { continue }
                let identity = frames[0]
                guard case .blocks(let handoff)? = try? KVHandoffMessage(frames: Array(frames.dropFirst())) else { continue }
                self.received.withLock { table in
                    // Forget handoffs nobody took within a minute (a job that failed meanwhile).
                    let now = ContinuousClock.now
                    table = table.filter { now - $0.value.at < .seconds(60) }
                    table[handoff.handoff] = (handoff, now)
                }
                _ = try? socket.send(to: identity, KVHandoffMessage.ack(handoff: handoff.handoff).frames, wait: false)
            }
        }
        thread.name = "tandem-decode-data"
        thread.start()
    }

    /// The handoff's blocks once they have arrived, or nil after `timeout`.
    public func take(_ handoff: String, timeout: Duration) async -> KVHandoff? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = received.withLock({ $0.removeValue(forKey: handoff) }) { return found.handoff }
            if ContinuousClock.now >= deadline || Task.isCancelled { return nil }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
