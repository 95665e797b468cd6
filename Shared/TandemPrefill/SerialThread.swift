import Foundation

/// Runs closures one after another on one dedicated thread (the prefill worker's compute and
/// socket thread).
final class SerialThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var work: [@Sendable () -> Void] = []  // guarded by `condition`

    init(name: String) {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while work.isEmpty { condition.wait() }
                let next = work.removeFirst()
                condition.unlock()
                next()
            }
        }
        thread.name = name
        thread.start()
    }

    func async(_ body: @escaping @Sendable () -> Void) {
        condition.lock()
        work.append(body)
        condition.signal()
        condition.unlock()
    }
}
