/// Error codes carried in ERROR and FAIL messages (`docs/protocol/README.md`, "Error codes").
public enum ErrorCode: String, Sendable, CaseIterable {
    case badFrame = "bad_frame"
    case unsupportedVersion = "unsupported_version"
    case unknownCommand = "unknown_command"
    case missingField = "missing_field"
    case invalidField = "invalid_field"
    case tooLarge = "too_large"
    case busy
    case unknownKind = "unknown_kind"
    case invalidParams = "invalid_params"
    case notFound = "not_found"
    case cancelled
    case workerLost = "worker_lost"
    case workerFailed = "worker_failed"
    case storeUnavailable = "store_unavailable"
    case shuttingDown = "shutting_down"
    case `internal`
}
