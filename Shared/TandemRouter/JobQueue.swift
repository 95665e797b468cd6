import Foundation

/// One service's waiting jobs: highest priority first, then first come first served.
///
/// A binary heap with lazy removal: a cancelled job stays in the heap until it surfaces and is
/// skipped, so cancelling is O(1) and `count` stays exact.
public struct JobQueue: Sendable {
    private struct Entry: Sendable {
        var priority: Int32
        var serial: UInt64
        var job: UUID

        /// Whether `self` runs before `other`.
        func precedes(_ other: Entry) -> Bool {
            priority != other.priority ? priority > other.priority : serial < other.serial
        }
    }

    private var heap: [Entry] = []
    private var removed: Set<UUID> = []
    private var nextSerial: UInt64 = 0

    public init() {}

    /// Jobs waiting, not counting removed ones.
    public var count: Int { heap.count - removed.count }
    public var isEmpty: Bool { count == 0 }

    public mutating func push(_ job: UUID, priority: Int32) {
        heap.append(Entry(priority: priority, serial: nextSerial, job: job))
        nextSerial += 1
        siftUp(heap.count - 1)
    }

    /// Takes the next job to run, or nil when none waits.
    public mutating func pop() -> UUID? {
        while let top = heap.first {
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
            if removed.remove(top.job) == nil { return top.job }
        }
        return nil
    }

    /// The job `pop` would take next, left in the queue.
    public mutating func peek() -> UUID? {
        // Removed entries that surface are dropped here, as `pop` would.
        while let top = heap.first, removed.contains(top.job) {
            removed.remove(top.job)
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
        return heap.first?.job
    }

    /// Marks a queued job as gone (cancelled). The caller must only remove jobs it pushed and has not popped.
    public mutating func remove(_ job: UUID) {
        removed.insert(job)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count, heap[left].precedes(heap[best]) { best = left }
            if right < heap.count, heap[right].precedes(heap[best]) { best = right }
            if best == parent { return }
            heap.swapAt(parent, best)
            parent = best
        }
    }
}
