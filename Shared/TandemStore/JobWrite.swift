/// A write the router hands to the group-commit writer.
public enum JobWrite: Sendable, Equatable {
    /// Insert or update the whole row; within one batch the last row of a job wins.
    case upsert(JobRow)
    case event(JobEvent)
    case output(JobOutput)
}
