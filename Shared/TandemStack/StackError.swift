import Foundation

/// Why a local-stack operation failed.
public enum StackError: Error, CustomStringConvertible {
    case system(String, Int32)
    case postgresNotInstalled
    case noSuchUser(String)
    case notRunning(String)
    case invalidArgument(String)
    case routerDidNotStart(log: String)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .postgresNotInstalled:
            "no initdb/pg_ctl under /usr/lib/postgresql/*/bin: install the postgresql package (make deps)"
        case .noSuchUser(let user): "no system user \(user): install the postgresql package, which creates it"
        case .notRunning(let what): "\(what) is not running"
        case .invalidArgument(let message): message
        case .routerDidNotStart(let log): "the router did not start (are its ports taken by another router?); its log ends:\n\(log)"
        }
    }
}
