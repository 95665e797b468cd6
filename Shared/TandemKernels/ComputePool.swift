import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small pool of worker threads that share a parallel loop by taking chunks one at a time.
///
/// Why not a static split (as llama.cpp does): on a shared machine one core may be taken by a
/// neighbour; with a static split every step then waits for the slow thread, and llama.cpp's
/// spin barriers make it 10–40× slower (MEASURED.md). Here the caller works too and chunks are
/// claimed from one atomic cursor, so when a worker is not scheduled the caller simply takes all
/// the chunks. Workers spin briefly after a loop (decode issues ~120 loops per token, and waking
/// a sleeping thread costs tens of microseconds), then sleep on a semaphore.
///
/// `run` must be called from one thread at a time (the model's forward pass). Call `shutdown`
/// when done: the worker threads hold the pool until then.
public final class ComputePool: @unchecked Sendable {
    public typealias Body = @Sendable (_ chunk: Int) -> Void

    private struct Slot {
        var generation: UInt32 = 0
        var chunkCount = 0
        var body: Body?
        var shuttingDown = false
    }

    public let threadCount: Int
    /// High 32 bits: generation of the current loop; low 32 bits: the next chunk to claim.
    private let cursor = Atomic<UInt64>(0)
    private let completedChunks = Atomic<Int>(0)
    private let slot = Mutex<Slot>(Slot())
    private let sleeping: [SleepFlag]
    private let wakeups: [DispatchSemaphore]
    private var generation: UInt32 = 0
    /// Spin iterations a worker polls for the next loop before it sleeps.
    private let spinIterations: Int

    /// A pool using `threadCount` threads in all (the caller counts as one).
    public init(threadCount: Int, spinIterations: Int = 20_000) {
        self.threadCount = max(1, threadCount)
        self.spinIterations = spinIterations
        let workers = self.threadCount - 1
        sleeping = (0..<workers).map { _ in SleepFlag() }
        wakeups = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        for w in 0..<workers {
            let thread = Thread { self.workerLoop(w) }  // the thread keeps the pool alive until `shutdown`
            thread.name = "tandem-compute-\(w)"
            thread.start()
        }
    }

    /// Stops the workers. The pool must not be used afterwards.
    public func shutdown() {
        slot.withLock { $0.shuttingDown = true }
        generation &+= 1
        cursor.store(UInt64(generation) << 32, ordering: .releasing)
        for w in 0..<wakeups.count where sleeping[w].value.exchange(false, ordering: .acquiringAndReleasing) {
            wakeups[w].signal()
        }
    }

    /// Runs `body(0..<chunkCount)` across the pool and returns when every chunk is done.
    public func run(chunkCount: Int, _ body: @escaping Body) {
        if chunkCount <= 0 { return }
        if threadCount == 1 || chunkCount == 1 {
            for i in 0..<chunkCount { body(i) }
            return
        }
        generation &+= 1
        let gen = generation
        slot.withLock { $0.generation = gen; $0.chunkCount = chunkCount; $0.body = body }
        completedChunks.store(0, ordering: .relaxed)
        cursor.store(UInt64(gen) << 32, ordering: .releasing)
        for w in 0..<wakeups.count where sleeping[w].value.exchange(false, ordering: .acquiringAndReleasing) {
            wakeups[w].signal()
        }
        claimChunks(generation: gen, chunkCount: chunkCount, body: body)
        var spins = 0
        while completedChunks.load(ordering: .acquiring) < chunkCount {
            spins += 1
            if spins > 64 { sched_yield() }
        }
        slot.withLock { $0.body = nil }
    }

    /// Claims and runs chunks until none is left, then reports how many it ran (one shared write
    /// per thread and loop, not one per chunk: that cache line would bounce between the cores).
    private func claimChunks(generation gen: UInt32, chunkCount: Int, body: Body) {
        var done = 0
        defer { if done > 0 { completedChunks.add(done, ordering: .releasing) } }
        while true {
            let current = cursor.load(ordering: .acquiring)
            guard UInt32(truncatingIfNeeded: current >> 32) == gen else { return }
            let index = Int(current & 0xFFFF_FFFF)
            guard index < chunkCount else { return }
            if cursor.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged {
                body(index)
                done += 1
            }
        }
    }

    private func workerLoop(_ w: Int) {
        var lastGeneration: UInt32 = 0
        while true {
            // Spin a while for the next loop, then sleep.
            var spins = 0
            while UInt32(truncatingIfNeeded: cursor.load(ordering: .acquiring) >> 32) == lastGeneration {
                spins += 1
                if spins < spinIterations { continue }
                sleeping[w].value.store(true, ordering: .releasing)
                if UInt32(truncatingIfNeeded: cursor.load(ordering: .acquiring) >> 32) != lastGeneration {
                    // New work arrived while going to sleep: if the caller already cleared the flag,
                    // it also signalled, so consume that signal.
                    if !sleeping[w].value.exchange(false, ordering: .acquiringAndReleasing) { wakeups[w].wait() }
                    break
                }
                wakeups[w].wait()
                spins = 0
            }
            let s = slot.withLock { $0 }
            if s.shuttingDown { return }
            lastGeneration = s.generation
            if let body = s.body { claimChunks(generation: s.generation, chunkCount: s.chunkCount, body: body) }
        }
    }
}

/// Whether a worker sleeps on its semaphore (so the caller must signal it).
private final class SleepFlag: Sendable {
    let value = Atomic<Bool>(false)
}
