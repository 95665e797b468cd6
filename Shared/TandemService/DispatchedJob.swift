import Foundation

/// A job as a worker receives it.
public struct DispatchedJob: Sendable {
    public var id: UUID
    /// Which dispatch of the job this is; a job retried after a lost worker comes with attempt 2, 3 …
    public var attempt: Int32
    public var kind: String
    /// The client's parameters, a JSON object as text.
    public var params: String
    public var priority: Int32
    /// The `data` of the partials earlier attempts streamed, in `seq` order: a handler that can
    /// continue from them (a generation) resumes instead of starting over, and numbers its next
    /// partial `ledger.count`.
    public var ledger: [String?]
    public var blobs: [[UInt8]]

    public init(id: UUID, attempt: Int32, kind: String, params: String, priority: Int32 = 0, ledger: [String?] = [], blobs: [[UInt8]] = []) {
        self.id = id
        self.attempt = attempt
        self.kind = kind
        self.params = params
        self.priority = priority
        self.ledger = ledger
        self.blobs = blobs
    }

    /// The parameters decoded as `T`; a decoding failure is a non-retryable `invalid_params` failure.
    public func decodeParams<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(params.utf8))
        } catch {
            throw JobFailure(code: "invalid_params", message: "params do not fit \(T.self): \(error)", retryable: false)
        }
    }
}
