/// The renders in flight on one worker, advanced together: each `step` makes one UNet call for
/// every unfinished job (its conditional and empty-class passes included), whatever its solver,
/// step count or progress, then applies each job's own solver step. Jobs join with `add` and
/// leave when finished or cancelled, between steps — the diffusion analogue of continuous
/// batching.
public struct RenderBatch: Sendable {
    public private(set) var jobs: [RenderJob] = []
    /// At most this many jobs per UNet call (each costs one or two UNet samples); the rest wait.
    public var maxJobsPerStep: Int

    public init(maxJobsPerStep: Int = 64) {
        self.maxJobsPerStep = maxJobsPerStep
    }

    public mutating func add(_ job: RenderJob) { jobs.append(job) }

    /// Drops the job; returns whether it was there.
    @discardableResult
    public mutating func cancel(id: Int) -> Bool {
        let before = jobs.count
        jobs.removeAll { $0.id == id }
        return jobs.count != before
    }

    public var isEmpty: Bool { jobs.isEmpty }

    /// Advances up to `maxJobsPerStep` jobs (fewest steps done first, so late joiners are not
    /// starved) by one step and returns the jobs that finished, removed from the batch.
    public mutating func step(using sampler: GuidedSampler) throws -> [RenderJob] {
        let chosen = jobs.indices.sorted { (jobs[$0].stepsDone, jobs[$0].id) < (jobs[$1].stepsDone, jobs[$1].id) }
            .prefix(maxJobsPerStep)
        let requests = chosen.map { i in
            let job = jobs[i], s = job.state.stepIndex
            return GuidedSampler.Request(sample: job.sample, timestep: job.solver.timesteps[s], inputScale: job.solver.modelInputScale(at: s),
                                         classLabel: job.classLabel, guidanceScale: job.guidanceScale)
        }
        let outputs = try sampler.modelOutputs(requests)
        for (i, output) in zip(chosen, outputs) {
            (jobs[i].state, jobs[i].sample) = jobs[i].solver.step(jobs[i].state, modelOutput: output, sample: jobs[i].sample)
        }
        let finished = jobs.filter(\.isFinished)
        jobs.removeAll(where: \.isFinished)
        return finished
    }
}
