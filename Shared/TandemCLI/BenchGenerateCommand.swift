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
    @Option(name: .customLong("prompt-tokens"), help: "Use a long prompt of about this many tokens (a passage to summarize) instead of the short chat prompts.")
    var promptTokens: Int?
    @Flag(name: .customLong("llama-server"), help: "Then run llama-cpp-python's server on the same model under the same load (needs --python).")
    var llamaServer = false
    @Option(help: "Python with llama-cpp-python[server] (make bench-deps).") var python = ".venv-ref/bin/python"
    @Option(name: .customLong("llama-server-binary"), help: "With --llama-server: llama.cpp's own llama-server (parallel slots = concurrency) instead of llama-cpp-python's.")
    var llamaServerBinary: String?
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
        if let benchmark = try speculativeOptions.benchmark(levels: levels, model: model, threads: threads, python: python, json: json, router: routerOptions) { return try benchmark.run() }
        if local { try runLocal() }
        var rows: [[String: Any]] = []
        for level in levels { rows.append(try runLevel(level)) }
        if llamaServer { try runLlamaServer(levels: levels, tandem: rows) }
    }

    /// The prompt of a level's n-th request: the short chat prompts in turn, or with
    /// `--prompt-tokens` a passage to summarize that opens with the request's number, so that no
    /// two share a prefix and prefix caching does not hide the prefill.
    private func prompt(_ n: Int) -> String {
        guard let promptTokens else { return Self.prompts[n % Self.prompts.count] }
        // The sentence is 17 tokens.
        let passage = String(repeating: "The river bends past the old mill, where the miller counts the sacks of grain. ", count: max(1, promptTokens / 17))
        return "Summarize in one sentence (request \(n)): " + passage
    }

    /// tools/bench_llama_server.py under the same load, then one comparison line per level.
    private func runLlamaServer(levels: [Int], tandem: [[String: Any]]) throws {
        guard FileManager.default.fileExists(atPath: python) else {
            print("llama.cpp server: skipped (\(python) not found: make bench-deps installs llama-cpp-python[server])")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["tools/bench_llama_server.py", try ModelLoading.resolve(model), "--threads", "\(threads)",
                             "--levels", levels.map(String.init).joined(separator: ","), "--duration", "\(duration)",
                             "--max-tokens", "\(maxTokens)"] + (llamaServerBinary.map { ["--server-binary", $0] } ?? [])
            + (0..<Self.prompts.count).map(prompt)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var peers: [[String: Any]] = []
        for line in String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n") {
            guard let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            report(row)
            peers.append(row)
        }
        process.waitUntilExit()
        for (ours, theirs) in zip(tandem, peers) {
            let a = ours["tokens_per_second"] as? Double ?? 0, b = theirs["tokens_per_second"] as? Double ?? 0
            let ttftOurs = ours["ttft_p99_ms"] as? Double ?? 0, ttftTheirs = theirs["ttft_p99_ms"] as? Double ?? 0
            let throughputRatio: Double = b > 0 ? a / b : 0, ttftRatio: Double = ttftTheirs > 0 ? ttftOurs / ttftTheirs : 0
            let row: [String: Any] = ["mode": "ratio", "concurrency": ours["concurrency"] ?? 0, "tokens_per_second_ratio": throughputRatio,
                                      "ttft_p99_ratio": ttftRatio]
            if json { print(JSONOutput.compact(row)) } else {
                print(String(format: "ratio concurrency %d: Tandem/llama.cpp server output tokens/s %.2f×, TTFT p99 %.2f× (lower is better)",
                             row["concurrency"] as? Int ?? 0, throughputRatio, ttftRatio))
            }
        }
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

    @discardableResult
    private func runLevel(_ level: Int) throws -> [String: Any] {
        final class Stats: @unchecked Sendable {
            let lock = NSLock()
            var tokens = 0, generations = 0, failures = 0
            var ttft: [Double] = [], itl: [Double] = []
            /// KV transfer after the compute, of the generations a prefill worker computed: round
            /// trip to the acknowledgement, and one way to the blocks' arrival.
            var transfer: [Double] = [], arrival: [Double] = []
        }
        let stats = Stats()
        let endpoint = routerOptions.endpoint
        let timeout = routerOptions.timeoutMilliseconds
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(duration * 1000))
        let encoder = JSONEncoder()
        let group = DispatchGroup()
        let maxTokens = self.maxTokens
        let prompt = self.prompt
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
                    let params = GenerateParameters(prompt: prompt(n), chat: true, maxTokens: maxTokens)
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
                                if let text = final.result, let result = try? JSONDecoder().decode(GenerateResult.self, from: Data(text.utf8)),
                                   let transfer = result.prefill?.transferMilliseconds {
                                    stats.transfer.append(transfer)
                                    if let arrival = result.prefill?.arrivalMilliseconds { stats.arrival.append(arrival) }
                                }
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
        var row: [String: Any] = ["mode": "stack", "concurrency": level, "tokens": stats.tokens, "generations": stats.generations, "failures": stats.failures,
                                  "seconds": seconds, "tokens_per_second": Double(stats.tokens) / seconds,
                                  "ttft_p50_ms": percentile(stats.ttft, 0.5), "ttft_p99_ms": percentile(stats.ttft, 0.99),
                                  "itl_p50_ms": percentile(stats.itl, 0.5), "itl_p99_ms": percentile(stats.itl, 0.99),
                                  "prefilled_remotely": stats.transfer.count]
        if !stats.transfer.isEmpty {
            row["kv_transfer_p50_ms"] = percentile(stats.transfer, 0.5)
            row["kv_transfer_p99_ms"] = percentile(stats.transfer, 0.99)
        }
        if !stats.arrival.isEmpty {
            row["kv_arrival_p50_ms"] = percentile(stats.arrival, 0.5)
            row["kv_arrival_p99_ms"] = percentile(stats.arrival, 0.99)
        }
        report(row)
        return row
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
              + (row["kv_transfer_p50_ms"] != nil
                 ? ", \(row["prefilled_remotely"]!) prefilled remotely, KV transfer after compute p50 \(f("kv_transfer_p50_ms")) ms p99 \(f("kv_transfer_p99_ms")) ms" : "")
              + (row["kv_arrival_p50_ms"] != nil
                 ? " (one way, to the blocks' arrival: p50 \(f("kv_arrival_p50_ms")) ms p99 \(f("kv_arrival_p99_ms")) ms)" : "")
              + ((row["failures"] as? Int ?? 0) > 0 ? ", \(row["failures"]!) failed" : ""))
    }
}
