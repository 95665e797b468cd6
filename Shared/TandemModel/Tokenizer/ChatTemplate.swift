/// A model's chat template, recognised from its Jinja source and rendered natively.
///
/// Only ChatML (`<|im_start|>role\ncontent<|im_end|>\n`) is recognised; it covers SmolLM2 and
/// many other models. A template that injects a default system prompt when the first message
/// is not a system message (SmolLM2's does) has that prompt extracted and applied the same way.
public struct ChatTemplate: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    public let defaultSystemPrompt: String?

    /// The template of a Jinja source, or nil if it is not ChatML.
    public init?(jinja: String) {
        guard jinja.contains("<|im_start|>"), jinja.contains("<|im_end|>") else { return nil }
        // The newline after the role is a real newline or a `\n` escape inside a Jinja string.
        defaultSystemPrompt = ["<|im_start|>system\n", "<|im_start|>system\\n"].lazy.compactMap { marker -> String? in
            guard let start = jinja.range(of: marker),
                  let end = jinja.range(of: "<|im_end|>", range: start.upperBound..<jinja.endIndex),
                  jinja[..<start.lowerBound].contains("loop.first") else { return nil }
            return String(jinja[start.upperBound..<end.lowerBound])
        }.first
    }

    public init(defaultSystemPrompt: String?) { self.defaultSystemPrompt = defaultSystemPrompt }

    /// The prompt text of `messages`, ending with the assistant's header when
    /// `addGenerationPrompt` is set.
    public func render(_ messages: [Message], addGenerationPrompt: Bool = true) -> String {
        var out = ""
        if let defaultSystemPrompt, messages.first?.role != "system" {
            out += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
