/// The life cycle of a job, stored as the PostgreSQL enum `job_state` so `psql` shows names, not numbers.
///
/// `queued` → `running` → one of the final states; `running` → `queued` again when a worker dies
/// or hands the job back. Final states never change.
public enum JobState: String, Sendable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// Whether the state is final: such a job has `finished_at` set and is never dispatched again.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}
