import Foundation

/// One partial result appended to a job's output ledger (`job_outputs`).
///
/// `seq` numbers a job's partials from 0 without gaps, so a resumed job knows what was already
/// produced and a client can drop duplicates.
public struct JobOutput: Sendable, Equatable {
    public var jobId: UUID
    public var seq: Int64
    /// Text of a JSON value, stored as `jsonb`.
    public var data: String?
    public var bytes: [UInt8]?

    public init(jobId: UUID, seq: Int64, data: String? = nil, bytes: [UInt8]? = nil) {
        self.jobId = jobId
        self.seq = seq
        self.data = data
        self.bytes = bytes
    }
}
