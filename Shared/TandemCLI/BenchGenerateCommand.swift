import ArgumentParser
import Foundation
import TandemClient
import TandemDecode
import TandemModel

/// `tandem bench generate`: streams generations through a running stack at several
/// concurrencies and reports output tokens/s, TTFT and inter-token latency per level; with
/// `--local`, first the same generation in this process (`LocalGenerator`, one stream) as the
/// baseline.
///
/// Each of `concurrency` client threads submits a greedy chat generation, follows it to its end
/// and submits the next, for `duration` seconds (a generation running at the end is counted).
struct BenchGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Benchmark generation through a running stack.")

    @Option(help: "Concurrent streams per level, comma-separated.") var concurrency = "1,4,16"
    @Option(help: "Seconds per level.") var duration: Double = 20
    @Option(name: .customLong("max-tokens"), help: "Tokens per generation (the model may stop earlier at EOS).") var maxTokens = 64
    @Flag(help: "First measure one stream of LocalGenerator in this process (the stack should be idle).") var local = false
    @Option(help: "Model for --local.") var model = ModelCatalog.defaultModel.name
    @Option(help: "Threads for --local.") var threads = 2
    @Flag(help: "Print one JSON line per level.") var json = false
    @OptionGroup var routerOptions: RouterOptions
    @OptionGroup var speculativeOptions: SpeculativeBenchOptions

    static let prompts = [
        "Write a short story about a robot who learns to paint.",
        "Explain how a rainbow forms.",
        "List five uses of a paperclip and explain each.",
        "Describe the water cycle to a child.",
        "What makes a good cup of tea? Explain in detail.",
        "Write a poem about the autumn wind.",
        "Give advice to someone learning to cook.",
        "Explain why the sky is blue.",
    ]

    func run() throws {
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !levels.isEmpty else { throw ValidationError("--concurrency needs positive integers") }
        if let benchmark = try speculativeOptions.benchmark(levels: levels, model: model, threads: threads, json: json) { return try benchmark.run() }
        if local { try runLocal() }
        for level in levels { try runLevel(level) }
    }

    private func runLocal() throws {
        let file = try GGUFFile(path: try ModelLoading.resolve(model))
        let tokenizer = try BPETokenizer(file: file)
        let llama = try LlamaModel(file: file, threads: threads)
        let generator = LocalGenerator(model: llama, tokenizer: tokenizer)
        let params = GenerateParameters(prompt: Self.prompts[0], chat: true)
        let prompt = try params.promptTokens(tokenizer: tokenizer)
        var first: ContinuousClock.Instant?
        let start = ContinuousClock.now
        let result = try generator.generate(prompt: prompt, maxTokens: maxTokens, sampling: .greedy) { _ in
            if first == nil { first = .now }
        }
        let end = ContinuousClock.now
        let ttft = GenerateCommand.milliseconds((first ?? end) - start)
        let rate = result.tokens.count > 1 ? Double(result.tokens.count - 1) / (GenerateCommand.milliseconds(end - (first ?? end)) / 1000) : 0
        report(["mode": "local", "concurrency": 1, "tokens": result.tokens.count, "generations": 1,
                "tokens_per_second": rate, "ttft_p50_ms": ttft, "ttft_p99_ms": ttft])
    }

    private func runLevel(_ level: Int) throws {
        final class Stats: @unchecked Sendable {
            let lock = NSLock()
            var tokens = 0, generations = 0, failures = 0
            var ttft: [Double] = [], itl: [Double] = []
        }
        let stats = Stats()
        let endpoint = routerOptions.endpoint
        let timeout = routerOptions.timeoutMilliseconds
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(duration * 1000))
        let encoder = JSONEncoder()
        let group = DispatchGroup()
        let maxTokens = self.maxTokens
        for worker in 0..<level {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                guard let client = try? RouterClient(configuration: .init(routerEndpoint: endpoint, replyTimeoutMilliseconds: timeout)) else {
                    stats.lock.withLock { stats.failures += 1 }
                    return
                }
                var n = worker
                while ContinuousClock.now < deadline {
                    let params = GenerateParameters(prompt: Self.prompts[n % Self.prompts.count], chat: true, maxTokens: maxTokens)
                    n += level
                    guard let body = try? encoder.encode(params) else { return }
                    let submitted = ContinuousClock.now
                    var last: ContinuousClock.Instant?
                    var ttft: Double?
                    var gaps: [Double] = []
                    var tokens = 0
                    do {
                        let job = try client.submit(kind: "generate", params: String(decoding: body, as: UTF8.self))
                        let final = try client.follow(job, timeoutMilliseconds: 300_000) { _ in
                            let now = ContinuousClock.now
                            if let last { gaps.append(GenerateCommand.milliseconds(now - last)) } else { ttft = GenerateCommand.milliseconds(now - submitted) }
                            last = now
                            tokens += 1
                        }
                        stats.lock.withLock {
                            if final.state == "succeeded" {
                                stats.tokens += tokens
                                stats.generations += 1
                                if let ttft { stats.ttft.append(ttft) }
                                stats.itl += gaps
                            } else {
                                stats.failures += 1
                            }
                        }
                    } catch {
                        stats.lock.withLock { stats.failures += 1 }
                    }
                }
            }
            thread.start()
        }
        group.wait()
        let seconds = GenerateCommand.milliseconds(ContinuousClock.now - start) / 1000
        func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
        report(["mode": "stack", "concurrency": level, "tokens": stats.tokens, "generations": stats.generations, "failures": stats.failures,
                "seconds": seconds, "tokens_per_second": Double(stats.tokens) / seconds,
                "ttft_p50_ms": percentile(stats.ttft, 0.5), "ttft_p99_ms": percentile(stats.ttft, 0.99),
                "itl_p50_ms": percentile(stats.itl, 0.5), "itl_p99_ms": percentile(stats.itl, 0.99)])
    }

    private func report(_ row: [String: Any]) {
        if json {
            print(JSONOutput.compact(row))
            return
        }
        func f(_ key: String) -> String { (row[key] as? Double).map { String(format: "%.1f", $0) } ?? "\(row[key] ?? "-")" }
        print("\(row["mode"]!) concurrency \(row["concurrency"]!): \(row["tokens"]!) tokens in \(row["generations"]!) generations, "
              + "\(f("tokens_per_second")) tokens/s, TTFT p50 \(f("ttft_p50_ms")) ms p99 \(f("ttft_p99_ms")) ms"
              + (row["itl_p50_ms"] != nil ? ", ITL p50 \(f("itl_p50_ms")) ms p99 \(f("itl_p99_ms")) ms" : "")
              + ((row["failures"] as? Int ?? 0) > 0 ? ", \(row["failures"]!) failed" : ""))
    }
}
