/// How draft tokens are made (`--speculative`).
public enum DraftMethod: String, Sendable, Equatable, CaseIterable, Codable {
    /// Prompt lookup: continue the latest earlier occurrence of the context's last n-gram.
    case lookup
    /// The target's own first layers and output head (self-speculation).
    case earlyExit = "early-exit"
    /// A smaller model with the target's vocabulary.
    case model
}
