import ArgumentParser
import Foundation
import TandemModel

/// `tandem bench model`: prompt processing, single-stream and batched decode, and llama.cpp
/// (through llama-cpp-python) on the same file in the same run.
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Benchmark the model runtime against llama.cpp.")

    @Option(help: "Model name or GGUF path.") var model = ModelCatalog.defaultModel.name
    @Option(help: "Compute threads.") var threads = 2
    @Option(name: .customLong("prompt-tokens")) var promptTokens = 512
    @Option(name: .customLong("decode-tokens")) var decodeTokens = 128
    @Option(name: .customLong("batch-sizes")) var batchSizes = "1,4,16,32"
    @Option(name: .customLong("batch-steps"), help: "Decode steps per batched run.") var batchSteps = 32
    @Option(help: "Python with llama-cpp-python installed (empty: skip llama.cpp).") var python = ".venv-ref/bin/python"
    @Option(help: "Memory read bandwidth in GB/s for the bound (0: measure).") var bandwidth: Double = 0
    @Option(name: .customLong("step-tokens"), help: "Tokens per forward call of one sequence to time at --step-context (a speculative verifying step computes drafts + 1); empty: skip.")
    var stepTokens = "1,2,4,8,9,10,16"
    @Option(name: .customLong("step-context"), help: "Tokens already in the sequence's cache for --step-tokens.") var stepContext = 400

    func run() throws {
        let path = try ModelLoading.resolve(model)
        let beforeLoading = ResidentMemory.current()
        // The parsed file (its metadata holds the vocabulary and merges once more) is let go once the
        // model and the tokenizer are built, as the services do.
        let (tokenizer, llama, fileBytes) = try { () throws -> (BPETokenizer, LlamaModel, Int) in
            let file = try GGUFFile(path: path)
            return (try BPETokenizer(file: file), try LlamaModel(file: file, threads: threads), file.fileBytes)
        }()
        let text = String(repeating: "The quick brown fox jumps over the lazy dog while the river keeps running to the sea. ", count: 64)
        let prompt = Array(tokenizer.encode(text).prefix(promptTokens))
        print("model \(path), \(threads) threads, load average \(Self.loadAverage())")
        print("memory before loading: \(beforeLoading)")
        print("memory after loading: \(ResidentMemory.current())")

        // Prompt processing.
        _ = try timedPrefill(llama, Array(prompt.prefix(64)))
        let pp = try (0..<2).map { _ in try timedPrefill(llama, prompt) }.min()!
        print(String(format: "tandem    pp%d: %7.1f tok/s", prompt.count, Double(prompt.count) / pp))

        // Single-stream decode.
        let (decodeSeconds, kvBytes, memoryAfterDecode) = try timedDecode(llama, sequences: 1, promptLength: 16, steps: decodeTokens, tokenizer: tokenizer)
        let tg = Double(decodeTokens) / decodeSeconds
        let bytes = Double(llama.weights.bytesReadPerPass)
        let gbps = bandwidth > 0 ? bandwidth : Self.measureBandwidth()  // (its buffer would count in the memory figure)
        print("memory at the end of tg, its KV cache held: \(memoryAfterDecode) (file \(fileBytes / 1_000_000) MB; KV cache of the tg run \(String(format: "%.1f", Double(kvBytes) / 1e6)) MB)")
        print(String(format: "memory the model added (end of tg minus before loading): %.1f MB = anonymous %.1f + file %.1f; file + KV cache = %.1f MB",
                     memoryAfterDecode.residentMB - beforeLoading.residentMB, memoryAfterDecode.anonymousMB - beforeLoading.anonymousMB,
                     memoryAfterDecode.fileBackedMB - beforeLoading.fileBackedMB, Double(fileBytes + kvBytes) / 1e6))
        print(String(format: "tandem    tg%d: %7.1f tok/s  (weights read per token %.1f MiB; bound at %.1f GB/s read: %.0f tok/s)",
                     decodeTokens, tg, bytes / 1_048_576, gbps, gbps * 1e9 / bytes))

        // Batched decode.
        for n in batchSizes.split(separator: ",").compactMap({ Int($0) }) {
            let (s, _, _) = try timedDecode(llama, sequences: n, promptLength: 16, steps: batchSteps, tokenizer: tokenizer)
            print(String(format: "tandem    batched decode %2d seq: %7.1f tok/s aggregate", n, Double(n * batchSteps) / s))
        }

        // One sequence's forward call by its token count, at a grounded generation's context.
        for n in stepTokens.split(separator: ",").compactMap({ Int($0) }) where n > 0 {
            let ms = try timedStep(llama, context: Array(prompt.prefix(stepContext)), tokens: n) * 1e3
            print(String(format: "tandem    step of %2d tokens at context %d: %6.2f ms (%5.2f ms per token)", n, min(stepContext, prompt.count), ms, ms / Double(n)))
        }

        if !python.isEmpty {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../tools/bench_llamacpp.py").standardized.path
            let scriptPath = FileManager.default.fileExists(atPath: script) ? script : "tools/bench_llamacpp.py"
            guard FileManager.default.fileExists(atPath: python) else {
                print("llama.cpp: skipped (\(python) not found: make bench-deps installs llama-cpp-python)")
                return
            }
            fflush(nil)  // our lines first: the child writes to the same descriptor
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [scriptPath, path, "--threads", "\(threads)", "--prompt-tokens", "\(prompt.count)",
                           "--decode-tokens", "\(decodeTokens)", "--batch-sizes", batchSizes, "--batch-steps", "\(batchSteps)"]
            try p.run()
            p.waitUntilExit()
        }
        fflush(nil)
        print("load average after: \(Self.loadAverage())")
    }

    func timedPrefill(_ llama: LlamaModel, _ prompt: [Int32]) throws -> Double {
        let cache = PagedKVCache(config: llama.config, capacityTokens: prompt.count + 16)
        try cache.createSequence(0)
        let start = DispatchTime.now()
        _ = try llama.forward([ForwardRequest(sequence: 0, tokens: prompt)], cache: cache)
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// The fastest of several forward calls of `tokens` tokens after `context`, with logits at
    /// every position as a verifying step asks, each call's tokens dropped from the cache again so
    /// every call sees the same context.
    func timedStep(_ llama: LlamaModel, context: [Int32], tokens: Int) throws -> Double {
        let cache = PagedKVCache(config: llama.config, capacityTokens: context.count + tokens + 16)
        try cache.createSequence(0)
        _ = try llama.forward([ForwardRequest(sequence: 0, tokens: context)], cache: cache)
        let step = Array(context.suffix(tokens))
        var best = Double.infinity
        for _ in 0..<12 {
            let start = DispatchTime.now()
            _ = try llama.forward([ForwardRequest(sequence: 0, tokens: step, logitIndices: Array(step.indices))], cache: cache)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
            try cache.truncate(0, toTokenCount: context.count)
        }
        return best
    }

    /// Seconds for `steps` decode steps of `sequences` sequences together (after their prefill),
    /// the bytes of the KV cache they used, and the resident memory at the end, that cache held.
    func timedDecode(_ llama: LlamaModel, sequences: Int, promptLength: Int, steps: Int, tokenizer: BPETokenizer) throws -> (seconds: Double, cacheBytes: Int, memory: ResidentMemory) {
        let cache = PagedKVCache(config: llama.config, capacityTokens: sequences * (promptLength + steps + 16))
        var next: [Int32] = []
        for s in 0..<sequences {
            let prompt = Array(tokenizer.encode("Story number \(s): once upon a time there was a little robot who wanted to").prefix(promptLength))
            try cache.createSequence(s)
            let logits = try llama.forward([ForwardRequest(sequence: s, tokens: prompt)], cache: cache)
            next.append(Sampler.argmax(logits[0][0]))
        }
        let start = DispatchTime.now()
        for _ in 0..<steps {
            let out = try llama.forward((0..<sequences).map { ForwardRequest(sequence: $0, tokens: [next[$0]]) }, cache: cache)
            next = out.map { Sampler.argmax($0[0]) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return (seconds, cache.blockCount * cache.blockBytes, ResidentMemory.current())
    }

    /// Single-thread read bandwidth over a buffer larger than the caches, in GB/s.
    static func measureBandwidth() -> Double {
        let count = 64 << 20 / 8
        let buffer = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: count / 8)
        buffer.initialize(repeating: SIMD8(repeating: 1), count: count / 8)
        defer { buffer.deallocate() }
        var best = 0.0
        var sink = SIMD8<Float>()
        for _ in 0..<5 {
            let start = DispatchTime.now()
            var a = SIMD8<Float>(), b = SIMD8<Float>()
            var i = 0
            while i < count / 8 { a += buffer[i]; b += buffer[i + 1]; i += 2 }
            sink += a + b
            let s = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            best = max(best, Double(count * 4) / s / 1e9)
        }
        if sink.sum() == -1 { print("") }
        return best
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}
