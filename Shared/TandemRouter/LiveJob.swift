import TandemStore

/// A job the router is still responsible for: its row plus who listens to it.
struct LiveJob {
    var row: JobRow
    /// Client identities that get this job's PARTIAL and FINAL.
    var subscribers: [[UInt8]]
    /// Clients that asked to cancel, answered once the job is final.
    var cancelRequests: [(identity: [UInt8], requestId: UInt64)] = []
    /// The job's row is committed; before that it is neither queued nor acknowledged.
    var durable: Bool
    /// The final state has been handed to the writer; the FINAL goes out after the commit.
    var finishing = false
    var cancelRequested = false
    /// The routing identity of the worker running it.
    var workerIdentity: [UInt8]?
    /// The `data` of every partial relayed so far, by `seq`: handed to the next attempt so it can
    /// resume. Its count is the next `seq` to relay; a retried job's repeats are dropped.
    var ledger: [String?] = []
    var nextSeq: Int64 { Int64(ledger.count) }
    /// A generation's prompt, profiled at submission for routing it (`GenerateRouting`).
    var profile: PromptProfile?
}
