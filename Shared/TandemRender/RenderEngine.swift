import Foundation
import TandemDiffusion

/// The render step loop of one worker: every request's glyphs go into one `RenderBatch`, so each
/// step is one UNet call across all requests in flight; requests join and leave between steps.
///
/// Runs on its own thread (the UNet is synchronous CPU work); requests arrive and are cancelled
/// from any thread through `submit` and `cancel`, and report back through their callbacks, called
/// on the engine's thread.
public final class RenderEngine: @unchecked Sendable {
    public struct Request: Sendable {
        public var labels: [Int]
        public var parameters: RenderParameters
        /// (steps done by the slowest of its glyphs, steps in all), after every step.
        public var progress: @Sendable (Int, Int) -> Void
        /// The finished glyphs in request order, or why they could not be rendered.
        public var completion: @Sendable (Result<[RGBImage], Error>) -> Void
    }

    private struct Active {
        var request: Request
        /// Batch job ids of its glyphs, in request order.
        var jobIds: [Int]
        var finished: [Int: RenderJob] = [:]
        var lastReported = 0
    }

    public let renderer: GlyphRenderer
    private let sampler: GuidedSampler
    private let condition = NSCondition()
    private var batch: RenderBatch
    private var arrivals: [(ticket: Int, jobs: [RenderJob], request: Request)] = []
    private var cancellations: Set<Int> = []
    private var active: [Int: Active] = [:]
    private var owner: [Int: Int] = [:]
    private var nextTicket = 0
    private var nextJobId = 0
    private var stopping = false

    public init(renderer: GlyphRenderer, maxGlyphsPerStep: Int = 64) {
        self.renderer = renderer
        sampler = GuidedSampler(unet: renderer.unet, emptyClass: renderer.emptyClass)
        batch = RenderBatch(maxJobsPerStep: maxGlyphsPerStep)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "tandem-render"
        thread.start()
    }

    /// Queues a request; it joins the batch before the next step. Returns a ticket for `cancel`.
    public func submit(_ request: Request) -> Int {
        let solver = Solver(kind: request.parameters.solver, schedule: renderer.schedule, steps: request.parameters.steps)
        condition.lock()
        defer { condition.unlock() }
        let ticket = nextTicket
        nextTicket += 1
        // Stream = glyph index within the request, as `GlyphRenderer.render` numbers them, so a
        // request renders the same images whatever else shares its steps.
        let jobs = request.labels.enumerated().map { index, label in
            defer { nextJobId += 1 }
            return RenderJob(id: nextJobId, classLabel: label, guidanceScale: request.parameters.guidance, solver: solver,
                             seed: request.parameters.seed, stream: UInt64(index), sampleCount: renderer.sampleCount)
        }
        arrivals.append((ticket, jobs, request))
        condition.signal()
        return ticket
    }

    /// Stops a request between steps; its completion gets `CancellationError` (unless it had finished).
    public func cancel(_ ticket: Int) {
        condition.lock()
        cancellations.insert(ticket)
        condition.signal()
        condition.unlock()
    }

    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while arrivals.isEmpty && cancellations.isEmpty && batch.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            for arrival in arrivals {
                active[arrival.ticket] = Active(request: arrival.request, jobIds: arrival.jobs.map(\.id))
                for job in arrival.jobs {
                    owner[job.id] = arrival.ticket
                    batch.add(job)
                }
            }
            arrivals.removeAll()
            for ticket in cancellations {
                guard let removed = active.removeValue(forKey: ticket) else { continue }
                for id in removed.jobIds {
                    batch.cancel(id: id)
                    owner[id] = nil
                }
                removed.request.completion(.failure(CancellationError()))
            }
            cancellations.removeAll()
            condition.unlock()
            if !batch.isEmpty { step() }
        }
    }

    private func step() {
        let finished: [RenderJob]
        do {
            finished = try batch.step(using: sampler)
        } catch {
            // A UNet failure fails every request in the batch: none of them can go on.
            for (_, entry) in active { entry.request.completion(.failure(error)) }
            for job in batch.jobs { batch.cancel(id: job.id) }
            active.removeAll()
            owner.removeAll()
            return
        }
        for job in finished {
            guard let ticket = owner.removeValue(forKey: job.id) else { continue }
            active[ticket]?.finished[job.id] = job
        }
        var stepsDone: [Int: Int] = [:]
        for job in batch.jobs {
            guard let ticket = owner[job.id] else { continue }
            stepsDone[ticket] = min(stepsDone[ticket] ?? Int.max, job.stepsDone)
        }
        let size = renderer.unet.config.sampleSize
        for (ticket, entry) in active {
            let total = entry.request.parameters.steps
            let done = stepsDone[ticket] ?? total
            if done > entry.lastReported {
                active[ticket]?.lastReported = done
                entry.request.progress(done, total)
            }
            if let current = active[ticket], current.finished.count == current.jobIds.count {
                active[ticket] = nil
                let images = current.jobIds.map { RGBImage(sample: current.finished[$0]!.sample, width: size, height: size) }
                entry.request.completion(.success(images))
            }
        }
    }
}
