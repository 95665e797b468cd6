import ArgumentParser
import Foundation
import TandemClient
import TandemDecode
import TandemModel

/// `tandem generate "PROMPT"`: a `generate` job through the router (streamed as it is decoded,
/// then a one-line summary on stderr); with `--local`, the model runs in this process instead.
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
    @Option(help: "Higher runs first (through the router).") var priority: Int32 = 0
    @Flag(name: .customLong("no-wait"), help: "Print the job id and return (through the router).") var noWait = false
    @OptionGroup var routerOptions: RouterOptions
    @Option(help: "Model name or GGUF path (with --local).") var model = ModelCatalog.defaultModel.name
    @Option(help: "Compute threads.") var threads = 2
    @Option(help: "Speculative decoding with this draft method: lookup, early-exit or model (through the router).") var speculative: DraftMethod?
    @Option(name: .customLong("draft-tokens"), help: "Tokens drafted per step: a number, or auto (adapted to the acceptance rate).")
    var draftTokens = "auto"
    @Option(help: "Candidate draft chains verified per step (multi-draft, 1...\(GenerateParameters.maxDrafts)).") var drafts: Int?

    func validate() throws {
        if draftTokens != "auto" {
            guard let k = Int(draftTokens), k >= 1, k <= GenerateParameters.maxDraftTokens else {
                throw ValidationError("--draft-tokens must be auto or 1...\(GenerateParameters.maxDraftTokens)")
            }
            guard speculative != nil else { throw ValidationError("--draft-tokens needs --speculative") }
        }
        if let drafts {
            guard drafts >= 1, drafts <= GenerateParameters.maxDrafts else { throw ValidationError("--drafts must be in 1...\(GenerateParameters.maxDrafts)") }
            guard speculative != nil else { throw ValidationError("--drafts needs --speculative") }
        }
        if speculative != nil && local { throw ValidationError("--speculative runs in the decode service: drop --local") }
    }

    func run() throws {
        guard local else { return try runThroughRouter() }
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

    /// The job's params, as the decode service reads them (docs/generate.md).
    var parameters: GenerateParameters {
        GenerateParameters(prompt: prompt, chat: chat ? true : nil, system: system, maxTokens: maxTokens,
                           temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                           seed: seed, stop: stop.isEmpty ? nil : stop, speculative: speculative?.rawValue, draftTokens: Int(draftTokens),
                           drafts: drafts)
    }

    func runThroughRouter() throws {
        if logprobs > 0 { throw ValidationError("--logprobs needs --local") }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let params = String(decoding: try encoder.encode(parameters), as: UTF8.self)
        let client = try routerOptions.connect()
        let submitted = ContinuousClock.now
        let job = try client.submit(kind: "generate", params: params, priority: priority, stream: !noWait)
        guard !noWait else {
            print(json ? JSONOutput.compact(["job": job.uuidString]) : job.uuidString)
            return
        }
        var firstToken: ContinuousClock.Instant?
        var lastToken = submitted
        var tokens = 0
        let decoder = JSONDecoder()
        let final = try client.follow(job) { partial in
            let now = ContinuousClock.now
            if firstToken == nil { firstToken = now }
            lastToken = now
            guard let data = partial.data, let piece = try? decoder.decode(GeneratePartial.self, from: Data(data.utf8)) else { return }
            tokens += piece.ids.count
            if !json { FileHandle.standardOutput.write(Data(piece.text.utf8)) }
        }
        // Text went out unbuffered (FileHandle); the newline must too, before the summary on stderr.
        guard final.state == "succeeded", let text = final.result,
              let result = try? decoder.decode(GenerateResult.self, from: Data(text.utf8)) else {
            if !json { FileHandle.standardOutput.write(Data("\n".utf8)) }
            try FinalReport.print(final, json: json)
            return
        }
        if json {
            var object = jsonValue(text) as? [String: Any] ?? [:]
            object["job"] = job.uuidString
            FileHandle.standardOutput.write(Data((JSONOutput.compact(object) + "\n").utf8))
        } else {
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
        let ttft = firstToken.map { Self.milliseconds($0 - submitted) }
        let rate = tokens > 1 && firstToken != nil ? Double(tokens - 1) / (Self.milliseconds(lastToken - firstToken!) / 1000) : 0
        let summary = "\(result.completionTokens) tokens (\(result.finishReason)) · TTFT \(ttft.map { String(format: "%.0f ms", $0) } ?? "-")"
            + " · \(String(format: "%.1f", rate)) tokens/s · worker \(result.worker)"
            + (result.prefill.map { p in
                " (prefill \(p.worker), KV \(p.bytes / 1024) KiB, " + (p.transferMilliseconds.map { String(format: "%.1f ms after the compute", $0) } ?? "transfer time unknown") + ")"
            } ?? "")
            + (result.speculation.map {
                " · speculative \(speculative?.rawValue ?? ""): acceptance \(String(format: "%.0f %%", $0.acceptanceRate * 100)),"
                    + " \(String(format: "%.2f", $0.tokensPerVerification)) tokens per verifying step (\($0.acceptedTokens)/\($0.draftedTokens) drafts)"
                    + ($0.remoteRounds.map { ", \($0) rounds from a draft worker" } ?? "")
                    + ($0.undraftedRounds.flatMap { n in
                        n > 0 ? "; no draft available for \(n) rounds (no draft worker offering it answered, none in process): those steps decoded plainly" : nil
                    } ?? "")
            } ?? "")
            + " · job \(job.uuidString)\n"
        FileHandle.standardError.write(Data(summary.utf8))
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    }
}

extension DraftMethod: ExpressibleByArgument {}
