import TandemService

/// The draft service's job handler: draft workers take no jobs through the router (decode workers
/// talk to them on the data plane), so a `draft` job submitted by hand fails with a clear reason.
/// The worker registers only so the router lists its data-plane endpoint and liveness.
public struct DraftJobHandler: JobHandler {
    public init() {}

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        throw JobFailure(code: "invalid_params",
                         message: "draft workers take no jobs: decode workers ask them for drafts on the data plane (submit `generate` with `speculative`)",
                         retryable: false)
    }
}
