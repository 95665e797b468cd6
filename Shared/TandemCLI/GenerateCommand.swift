import ArgumentParser
import Foundation
import TandemModel

/// `tandem generate --local "PROMPT"`: runs the model in this process and streams the text.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text from a prompt.")

    @Argument(help: "The prompt.") var prompt: String
    @Flag(help: "Run the model in this process instead of through a running stack.") var local = false
    @Flag(help: "Wrap the prompt in the model's chat template as a user message.") var chat = false
    @Option(help: "System message (with --chat).") var system: String?
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate at most.") var maxTokens = 128
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0
    @Option(name: .customLong("top-k")) var topK = 0
    @Option(name: .customLong("top-p")) var topP: Float = 1
    @Option(name: .customLong("min-p")) var minP: Float = 0
    @Option(name: .customLong("repeat-penalty")) var repeatPenalty: Float = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Stop string (repeatable).") var stop: [String] = []
    @Flag(help: "Print JSON with the prompt's and the generated token ids.") var json = false
    @Option(help: "With --json: the top-K logits (and log-probabilities) of every generated step.") var logprobs = 0
    @Option(help: "Model name or GGUF path.") var model = ModelCatalog.defaultModel.name
    @Option(help: "Compute threads.") var threads = 2

    func run() throws {
        guard local else {
            throw ModelCommandError("generate without --local needs a running stack (`tandem up`); use --local to run the model in this process")
        }
        let path = try ModelLoading.resolve(model)
        let file = try GGUFFile(path: path)
        let tokenizer = try BPETokenizer(file: file)
        let llama = try LlamaModel(file: file, threads: threads)
        var text = prompt
        if chat {
            guard let template = tokenizer.chatTemplateSource.flatMap(ChatTemplate.init(jinja:)) else {
                throw ValidationError("the model has no ChatML chat template")
            }
            var messages: [ChatTemplate.Message] = []
            if let system { messages.append(.init(role: "system", content: system)) }
            messages.append(.init(role: "user", content: prompt))
            text = template.render(messages)
        }
        let ids = tokenizer.encode(text, parseSpecial: chat)
        guard !ids.isEmpty else { throw ValidationError("the prompt is empty") }
        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repeatPenalty, seed: seed)
        let generator = LocalGenerator(model: llama, tokenizer: tokenizer)
        var steps: [[String: Any]] = []
        var fullText = ""
        let result = try generator.generate(prompt: ids, maxTokens: maxTokens, sampling: sampling, stops: stop,
                                            logprobs: json ? logprobs : 0) { step in
            fullText += step.text
            if json {
                var s: [String: Any] = ["id": Int(step.token)]
                if logprobs > 0 { s["top"] = step.topLogprobs.map { ["id": Int($0.token), "logit": Double($0.logit), "logprob": Double($0.logprob)] } }
                steps.append(s)
            } else {
                FileHandle.standardOutput.write(Data(step.text.utf8))
            }
        }
        fullText += result.tail
        if json {
            var object: [String: Any] = [
                "prompt_ids": ids.map(Int.init), "ids": result.tokens.map(Int.init),
                "text": fullText, "finish": result.finish.rawValue,
            ]
            if logprobs > 0 { object["steps"] = steps }
            let out = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: out, as: UTF8.self))
        } else {
            print(result.tail)
        }
    }
}
