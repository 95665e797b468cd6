import Synchronization
import TandemTransport

/// Hands events from other threads (the store writer, the query reader) to the poll loop.
final class Mailbox<Event: Sendable>: Sendable {
    private let pending = Mutex<[Event]>([])
    let wakeup = Wakeup()

    func post(_ event: Event) {
        pending.withLock { $0.append(event) }
        wakeup.signal()
    }

    func takeAll() -> [Event] {
        wakeup.drain()
        return pending.withLock { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }
}
