/// A write PostgreSQL refused for its data (a CHECK constraint, invalid JSON, an event for an
/// unknown job …). Retrying cannot help, so the writer drops it and says so; its token is never
/// acknowledged.
public struct JobWriteRejection: Sendable, Equatable {
    public var write: JobWrite
    public var token: UInt64?
    public var reason: String

    public init(write: JobWrite, token: UInt64?, reason: String) {
        self.write = write
        self.token = token
        self.reason = reason
    }
}
