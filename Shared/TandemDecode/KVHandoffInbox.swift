import Foundation
import Synchronization
import TandemTransport
import TandemWire

/// The decode worker's data-plane socket: receives prompts' KV blocks from prefill workers (in
/// parts, while they compute), acknowledges each completed handoff, and keeps it until the job
/// that asked for it takes it.
///
/// One thread owns the ROUTER socket (ZeroMQ sockets belong to one thread); jobs wait with `take`,
/// woken the moment the final part is in.
public final class KVHandoffInbox: Sendable {
    /// Where prefill workers connect: announced to the router in READY and sent to prefill workers
    /// (`AdvertisedEndpoint`: the bound endpoint, or this host's address for a wildcard bind).
    public let endpoint: String

    private struct State {
        var assembling: [String: (assembly: KVHandoffAssembly, at: ContinuousClock.Instant)] = [:]
        var complete: [String: (handoff: KVHandoff, at: ContinuousClock.Instant)] = [:]
        var waiters: [String: CheckedContinuation<KVHandoff?, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Binds `endpoint` (`tcp://127.0.0.1:*` picks a free port) and starts the receiving thread;
    /// `advertise`, when given, is what peers are told to connect to.
    public init(bind: String, advertise: String? = nil) throws {
        let context = ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        try socket.applyProtocolLimits()
        endpoint = AdvertisedEndpoint.resolve(bound: try socket.bind(bind), advertise: advertise)
        let thread = Thread { [self] in
            _ = context  // the context lives as long as its socket
            while true {
                guard let message = try? socket.receive(wait: true), case .frames(let frames) = message, frames.count >= 2 else { continue }
                let identity = frames[0]
                guard case .blocks(let part)? = try? KVHandoffMessage(frames: Array(frames.dropFirst())) else { continue }
                if self.receive(part) {
                    _ = try? socket.send(to: identity, KVHandoffMessage.ack(handoff: part.handoff).frames, wait: false)
                }
            }
        }
        thread.name = "tandem-decode-data"
        thread.start()
    }

    /// Adds one part; true when it completed its handoff.
    private func receive(_ part: KVHandoff) -> Bool {
        let now = ContinuousClock.now
        var wake: (CheckedContinuation<KVHandoff?, Never>, KVHandoff)?
        let completed = state.withLock { state -> Bool in
            // Forget handoffs nobody took (or finished) within a minute: a job that failed meanwhile.
            state.complete = state.complete.filter { now - $0.value.at < .seconds(60) }
            state.assembling = state.assembling.filter { now - $0.value.at < .seconds(60) }
            var outcome: KVHandoffAssembly.Outcome
            if var entry = state.assembling.removeValue(forKey: part.handoff) {
                outcome = entry.assembly.add(part)
                if case .partial = outcome { state.assembling[part.handoff] = (entry.assembly, now) }
            } else {
                let (assembly, first) = KVHandoffAssembly.start(part)
                outcome = first
                if let assembly { state.assembling[part.handoff] = (assembly, now) }
            }
            guard case .complete(var handoff) = outcome else { return false }
            handoff.arrivedAtMicroseconds = KVHandoff.nowMicroseconds
            if let waiter = state.waiters.removeValue(forKey: handoff.handoff) {
                wake = (waiter, handoff)
            } else {
                state.complete[handoff.handoff] = (handoff, now)
            }
            return true
        }
        if let (waiter, handoff) = wake { waiter.resume(returning: handoff) }
        return completed
    }

    /// The handoff's blocks once they have all arrived, or nil after `timeout` (or on cancellation).
    public func take(_ handoff: String, timeout: Duration) async -> KVHandoff? {
        let deadline = ContinuousClock.now + timeout
        let timer = Task { [self] in
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            state.withLock { $0.waiters.removeValue(forKey: handoff) }?.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<KVHandoff?, Never>) in
                let ready = state.withLock { state -> KVHandoff?? in
                    if let found = state.complete.removeValue(forKey: handoff) { return .some(found.handoff) }
                    if ContinuousClock.now >= deadline { return .some(nil) }
                    state.waiters[handoff] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: handoff) }?.resume(returning: nil)
        }
    }
}
