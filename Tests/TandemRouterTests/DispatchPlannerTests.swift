import TandemRouter
import XCTest

final class DispatchPlannerTests: XCTestCase {
    typealias Slot = DispatchPlanner.WorkerSlot
    typealias Assignment = DispatchPlanner.Assignment

    func testNothingQueuedOrNoWorkersPlansNothing() {
        XCTAssertEqual(DispatchPlanner.plan(queued: [:], workers: [Slot(id: 0, service: "echo", freeSlots: 4, lastDispatch: 0)]), [])
        XCTAssertEqual(DispatchPlanner.plan(queued: ["echo": 3], workers: []), [])
        XCTAssertEqual(DispatchPlanner.plan(queued: ["echo": 3], workers: [Slot(id: 0, service: "decode", freeSlots: 4, lastDispatch: 0)]), [])
    }

    func testNeverExceedsFreeSlots() {
        let plan = DispatchPlanner.plan(queued: ["echo": 100], workers: [
            Slot(id: 0, service: "echo", freeSlots: 3, lastDispatch: 0),
            Slot(id: 1, service: "echo", freeSlots: 0, lastDispatch: 0),
            Slot(id: 2, service: "echo", freeSlots: 5, lastDispatch: 0),
        ])
        XCTAssertEqual(Set(plan.map(\.worker)), [0, 2])
        XCTAssertEqual(plan.first { $0.worker == 0 }?.jobs, 3)
        XCTAssertEqual(plan.first { $0.worker == 2 }?.jobs, 5)
    }

    func testSpreadsByMostFreeSlotsThenLeastRecentDispatch() {
        // 4 jobs, workers with 4 and 2 free: the first two go to the emptier worker (4→3→2), the tie at 2
        // goes to the worker given work longer ago, the last one to the emptier again: 3 and 1.
        let plan = DispatchPlanner.plan(queued: ["echo": 4], workers: [
            Slot(id: 0, service: "echo", freeSlots: 4, lastDispatch: 10),
            Slot(id: 1, service: "echo", freeSlots: 2, lastDispatch: 5),
        ])
        XCTAssertEqual(plan, [Assignment(worker: 0, service: "echo", jobs: 3), Assignment(worker: 1, service: "echo", jobs: 1)])
        // One job, equal free slots: the worker that was given work longer ago takes it.
        let tie = DispatchPlanner.plan(queued: ["echo": 1], workers: [
            Slot(id: 0, service: "echo", freeSlots: 2, lastDispatch: 9),
            Slot(id: 1, service: "echo", freeSlots: 2, lastDispatch: 3),
        ])
        XCTAssertEqual(tie, [Assignment(worker: 1, service: "echo", jobs: 1)])
    }

    func testServicesAreIndependent() {
        let plan = DispatchPlanner.plan(queued: ["echo": 1, "render": 2], workers: [
            Slot(id: 0, service: "echo", freeSlots: 1, lastDispatch: 0),
            Slot(id: 1, service: "render", freeSlots: 1, lastDispatch: 0),
            Slot(id: 2, service: "render", freeSlots: 1, lastDispatch: 0),
        ])
        XCTAssertEqual(plan.reduce(0) { $0 + $1.jobs }, 3)
        XCTAssertEqual(plan.filter { $0.service == "render" }.count, 2)
    }
}
