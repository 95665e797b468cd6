/// DRAFT_ERROR: why a request was not answered with drafts.
public struct DraftFailure: Sendable, Equatable, Error {
    public var code: String
    public var message: String
    public var sequence: Int64?
    public var round: Int64?

    /// The draft worker does not hold the sequence's context at the length asked (it restarted,
    /// or forgot an idle sequence): the decode worker sends the whole context next time.
    public static let unknownSequence = "unknown_sequence"
    /// The draft worker cannot draft with that method.
    public static let unsupportedMethod = "unsupported_method"

    public init(code: String, message: String, sequence: Int64? = nil, round: Int64? = nil) {
        self.code = code; self.message = message; self.sequence = sequence; self.round = round
    }
}
