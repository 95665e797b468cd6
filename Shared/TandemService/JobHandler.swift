import TandemWire

/// The work a service does. One call per job, possibly many at once (up to the capacity).
///
/// Cancellation arrives as Swift task cancellation: check `Task.isCancelled` or use cancellable
/// awaits, and throw `CancellationError`. Throw `JobFailure` for a failure with a code.
public protocol JobHandler: Sendable {
    func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome

    /// What the worker reports of its load with every heartbeat (read on the worker loop's thread).
    var load: WorkerLoad? { get }
}

extension JobHandler {
    public var load: WorkerLoad? { nil }
}
