/// Decides which workers take how many queued jobs — a pure function of queue lengths and worker
/// states, so it is tested without sockets (STYLE.md habit 3).
///
/// Policy: a job goes to the worker of its service with the most free slots; ties go to the worker
/// that was given work least recently. Draining or full workers get nothing. This spreads load
/// evenly across workers of different capacities instead of filling the first one.
public enum DispatchPlanner {
    public struct WorkerSlot: Sendable, Equatable {
        /// The caller's handle for the worker (an index into its table).
        public var id: Int
        public var service: String
        public var freeSlots: Int
        /// Serial of the worker's last dispatch; lower means longer ago.
        public var lastDispatch: UInt64

        public init(id: Int, service: String, freeSlots: Int, lastDispatch: UInt64) {
            self.id = id
            self.service = service
            self.freeSlots = freeSlots
            self.lastDispatch = lastDispatch
        }
    }

    public struct Assignment: Sendable, Equatable {
        public var worker: Int
        public var service: String
        public var jobs: Int

        public init(worker: Int, service: String, jobs: Int) {
            self.worker = worker
            self.service = service
            self.jobs = jobs
        }
    }

    public static func plan(queued: [String: Int], workers: [WorkerSlot]) -> [Assignment] {
        var assignments: [Assignment] = []
        for service in queued.keys.sorted() {
            var waiting = queued[service] ?? 0
            var slots = workers.filter { $0.service == service && $0.freeSlots > 0 }
            var given = Array(repeating: 0, count: slots.count)
            while waiting > 0 {
                var best = -1
                for index in slots.indices where slots[index].freeSlots > 0 {
                    if best < 0 || slots[index].freeSlots > slots[best].freeSlots
                        || (slots[index].freeSlots == slots[best].freeSlots && slots[index].lastDispatch < slots[best].lastDispatch) {
                        best = index
                    }
                }
                if best < 0 { break }
                slots[best].freeSlots -= 1
                given[best] += 1
                waiting -= 1
            }
            for index in slots.indices where given[index] > 0 {
                assignments.append(Assignment(worker: slots[index].id, service: service, jobs: given[index]))
            }
        }
        return assignments
    }
}
