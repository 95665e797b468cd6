import Foundation
import TandemWire

/// A job as a worker receives it: the DISPATCH message itself (`job` is its id, `attempt` which
/// dispatch this is, `ledger` what earlier attempts streamed).
public typealias DispatchedJob = RouterMessage.Dispatch

extension RouterMessage.Dispatch {
    /// The job's id.
    public var id: UUID { job }

    /// The parameters decoded as `T`; a decoding failure is a non-retryable `invalid_params` failure.
    public func decodeParams<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(params.utf8))
        } catch {
            throw JobFailure(code: "invalid_params", message: "params do not fit \(T.self): \(error)", retryable: false)
        }
    }
}
