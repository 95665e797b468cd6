extension WorkerLoad {
    /// What a draft worker drafts with and how loaded it is (spec: "Worker load"): decode workers
    /// send a method's requests only to draft workers that offer it, and an operator scaling
    /// `tandem scale draft=N` reads `busyFraction` (near 1: requests queue behind each other).
    public struct Drafting: Sendable, Equatable {
        /// Draft method names (`lookup`, `early-exit`, `model`); a reader skips names it does not know.
        public var methods: [String]
        /// Sequences it holds a context for.
        public var sessions: Int
        /// DRAFT_REQUESTs answered with drafts since it started.
        public var rounds: Int
        /// The share of the last heartbeat interval it spent answering requests, 0…1.
        public var busyFraction: Double

        public static let maxMethods = 16

        public init(methods: [String], sessions: Int, rounds: Int, busyFraction: Double) {
            self.methods = methods; self.sessions = sessions; self.rounds = rounds; self.busyFraction = busyFraction
        }

        var header: [String: WireValue] {
            ["draft_methods": .array(methods.map { .string($0) }), "draft_sessions": .int(Int64(sessions)), "draft_rounds": .int(Int64(rounds)),
             "draft_busy": .double(busyFraction)]
        }

        /// Nil when the load has no `draft_methods` (not a draft worker).
        init?(header: [String: WireValue]) throws(WireError) {
            guard let listed = header["draft_methods"], listed != .null else { return nil }
            guard case .array(let values) = listed, values.count <= Self.maxMethods else {
                throw .invalidField("draft_methods", "an array of at most \(Self.maxMethods) method names")
            }
            var methods: [String] = []
            for value in values {
                guard case .string(let name) = value, (1...64).contains(name.count) else { throw .invalidField("draft_methods", "method names are strings of 1...64 characters") }
                methods.append(name)
            }
            let fields = HeaderFields(header)
            let sessions: Int = try fields.optionalInteger("draft_sessions") ?? 0, rounds: Int = try fields.optionalInteger("draft_rounds") ?? 0
            let busy: Double
            switch header["draft_busy"] {
            case nil, .null?: busy = 0
            case .double(let d)?: busy = d
            case let value?:
                guard let n = value.integer else { throw .invalidField("draft_busy", "a number in 0...1") }
                busy = Double(n)
            }
            guard sessions >= 0, rounds >= 0, busy.isFinite, (0...1).contains(busy) else {
                throw .invalidField("load", "draft_sessions and draft_rounds are non-negative, draft_busy is in 0...1")
            }
            self.init(methods: methods, sessions: sessions, rounds: rounds, busyFraction: busy)
        }
    }
}
