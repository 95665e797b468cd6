import Foundation

/// One entry of a job's append-only timeline (`job_events`).
public struct JobEvent: Sendable, Equatable {
    public var jobId: UUID
    public var at: Date
    /// `submitted`, `dispatched`, `requeued`, `succeeded`, `failed`, `cancel_requested`, `cancelled` …
    public var kind: String
    public var worker: String?
    /// Text of a JSON object with details (reason, attempt …), stored as `jsonb`.
    public var detail: String?

    public init(jobId: UUID, at: Date, kind: String, worker: String? = nil, detail: String? = nil) {
        self.jobId = jobId
        self.at = at
        self.kind = kind
        self.worker = worker
        self.detail = detail
    }
}
