import TandemService
import TandemWire

/// The draft service's job handler: draft workers take no jobs through the router (decode workers
/// talk to them on the data plane), so a `draft` job submitted by hand fails with a clear reason.
/// The worker registers so the router lists its data-plane endpoint and liveness, and its
/// heartbeats carry the server's methods and load, which decode workers route draft requests by.
public struct DraftJobHandler: JobHandler {
    public let server: DraftServer

    public init(server: DraftServer) { self.server = server }

    public var load: WorkerLoad? { WorkerLoad(drafting: server.drafting()) }

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        throw JobFailure(code: "invalid_params",
                         message: "draft workers take no jobs: decode workers ask them for drafts on the data plane (submit `generate` with `speculative`)",
                         retryable: false)
    }
}
