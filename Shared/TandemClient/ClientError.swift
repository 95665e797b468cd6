/// Why a client call failed, in words a CLI prints as one line.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    case noAnswer(endpoint: String, waitedMilliseconds: Int)
    case refused(code: String, message: String)
    case unexpectedReply(String)
    case transport(String)

    public var description: String {
        switch self {
        case .noAnswer(let endpoint, let waited):
            "no answer from the router at \(endpoint) within \(waited) ms (is a stack up? start one with `tandem up`)"
        case .refused(let code, let message): "\(code): \(message)"
        case .unexpectedReply(let what): "unexpected reply from the router: \(what)"
        case .transport(let what): "transport error: \(what)"
        }
    }

    /// The protocol error code, when the router refused.
    public var code: String? {
        if case .refused(let code, _) = self { return code }
        return nil
    }
}
