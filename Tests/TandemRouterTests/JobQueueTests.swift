import Foundation
import TandemRouter
import XCTest

final class JobQueueTests: XCTestCase {
    func testHighestPriorityFirstThenArrivalOrder() {
        var queue = JobQueue()
        let ids = (0..<6).map { _ in UUID() }
        let priorities: [Int32] = [0, 5, 0, 5, -1, 9]
        for (id, priority) in zip(ids, priorities) { queue.push(id, priority: priority) }
        XCTAssertEqual(queue.count, 6)
        let order = (0..<6).compactMap { _ in queue.pop() }
        XCTAssertEqual(order, [ids[5], ids[1], ids[3], ids[0], ids[2], ids[4]])
        XCTAssertNil(queue.pop())
        XCTAssertTrue(queue.isEmpty)
    }

    func testRemovedJobsAreSkippedAndNotCounted() {
        var queue = JobQueue()
        let ids = (0..<4).map { _ in UUID() }
        for id in ids { queue.push(id, priority: 0) }
        queue.remove(ids[0])
        queue.remove(ids[2])
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(queue.pop(), ids[1])
        XCTAssertEqual(queue.pop(), ids[3])
        XCTAssertNil(queue.pop())
        XCTAssertEqual(queue.count, 0)
    }

    func testPeekShowsWhatPopTakesSkippingRemovedJobs() {
        var queue = JobQueue()
        let ids = (0..<3).map { _ in UUID() }
        for (i, id) in ids.enumerated() { queue.push(id, priority: Int32(i)) }
        queue.remove(ids[2])
        XCTAssertEqual(queue.peek(), ids[1])
        XCTAssertEqual(queue.count, 2, "peeking past a removed job keeps the count exact")
        XCTAssertEqual(queue.pop(), ids[1])
        XCTAssertEqual(queue.peek(), ids[0])
        XCTAssertEqual(queue.pop(), ids[0])
        XCTAssertNil(queue.peek())
    }

    func testManyJobsKeepHeapOrder() {
        var queue = JobQueue()
        var generator = SystemRandomNumberGenerator()
        var expected: [(Int32, Int, UUID)] = []
        for index in 0..<2000 {
            let id = UUID()
            let priority = Int32.random(in: -5...5, using: &generator)
            queue.push(id, priority: priority)
            expected.append((priority, index, id))
        }
        expected.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        XCTAssertEqual((0..<2000).compactMap { _ in queue.pop() }, expected.map(\.2))
    }
}
