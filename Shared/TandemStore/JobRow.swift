import Foundation

/// One row of the `jobs` table, as the router holds it in memory.
///
/// The router is the only writer of job state, so it always has the whole row at hand and hands
/// whole rows to the group-commit writer; the writer keeps the last row per job within a batch.
public struct JobRow: Sendable, Equatable {
    public var id: UUID
    /// What the client asked for (`echo`, `generate`, `render` …).
    public var kind: String
    /// The service whose queue holds the job (usually the kind; `generate` routes to prefill/decode).
    public var service: String
    /// Higher runs first.
    public var priority: Int32
    public var state: JobState
    /// Dispatches so far; a job whose attempts reach `maxAttempts` and fails again ends `failed`.
    public var attempts: Int32
    public var maxAttempts: Int32
    /// The client's parameters: the text of a JSON object, stored as `jsonb`.
    public var params: String
    /// The worker identity holding the job while it is `running`.
    public var worker: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Text of a JSON value, stored as `jsonb`.
    public var result: String?
    /// The first blob of the final reply (an image, say), stored as `bytea`.
    public var resultBytes: [UInt8]?
    public var errorCode: String?
    public var error: String?

    public init(
        id: UUID, kind: String, service: String, priority: Int32, state: JobState = .queued,
        attempts: Int32 = 0, maxAttempts: Int32 = 3, params: String, worker: String? = nil,
        createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, result: String? = nil,
        resultBytes: [UInt8]? = nil, errorCode: String? = nil, error: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.service = service
        self.priority = priority
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.params = params
        self.worker = worker
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.result = result
        self.resultBytes = resultBytes
        self.errorCode = errorCode
        self.error = error
    }
}
