import Foundation

/// A thread that runs blocking work (PostgreSQL queries) in order, off the poll loop.
final class BackgroundQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var work: [@Sendable () -> Void] = []
    private var stopping = false
    private var thread: Thread!

    init(name: String) {
        thread = Thread { [unowned self] in self.loop() }
        thread.name = name
        thread.start()
    }

    func async(_ item: @escaping @Sendable () -> Void) {
        condition.lock()
        work.append(item)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while work.isEmpty && !stopping { condition.wait() }
            if work.isEmpty && stopping {
                condition.unlock()
                return
            }
            let item = work.removeFirst()
            condition.unlock()
            item()
        }
    }
}
