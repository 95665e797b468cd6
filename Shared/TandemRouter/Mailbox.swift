import Synchronization
import TandemTransport

/// Hands events from other threads (the store writer, the query reader) to the poll loop.
final class Mailbox<Event: Sendable>: Sendable {
    private let pending = Mutex<[Event]>([])
    let wakeup = Wakeup()

    func post(_ event: Event) {
        // One wake-up per batch: a non-empty mailbox already has one pending (takeAll drains first).
        let wasEmpty = pending.withLock { events in
            events.append(event)
            return events.count == 1
        }
        if wasEmpty { wakeup.signal() }
    }

    func takeAll() -> [Event] {
        wakeup.drain()
        return pending.withLock { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }
}
