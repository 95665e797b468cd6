import Foundation
import TandemDecode
import TandemModel

/// `tandem bench generate --speculative METHOD`: plain and speculative decoding side by side in
/// one decode engine in this process, on an input-grounded workload (repeat or edit a ~300-token
/// passage) and on open chat, at each concurrency; then llama.cpp's prompt-lookup decoding
/// (llama-cpp-python's `LlamaPromptLookupDecoding`) on the concurrency-1 grounded generation.
///
/// Every level runs the same generations once per variant (plain, speculative with one draft and,
/// with `--drafts N`, with N), then again in reverse order, `rounds` times, so the figures of a
/// row share the machine's load. Two rates: end to end (generated tokens over the wall time from
/// submission to the last token, prompt processing included) and decode (tokens after each
/// sequence's first, over the time from its first token to its last).
struct SpeculativeBenchmark {
    var method: DraftMethod
    var draftTokens: Int?
    /// Candidate chains of the multi-draft variant (1: no such variant).
    var drafts: Int
    var rounds: Int
    var levels: [Int]
    var model: String
    var threads: Int
    var groundedTokens: Int
    var chatTokens: Int
    var earlyExitLayers: Int
    var draftModel: String?
    var speculateMaxBatch: Int
    var python: String
    var json: Bool
    /// Through this router's stack instead of an engine in this process (`--via-stack`).
    var stack: RouterOptions?

    static let passage = """
        The old lighthouse on the northern cape was built in 1856 from granite quarried on the island itself. \
        For ninety years a keeper and his family lived in the small stone house at its foot, trimming the wick \
        every four hours, winding the clockwork that turned the lens, and writing the weather into a leather \
        logbook that is now kept in the town library. In the winter of 1903 a storm broke three panes of the \
        lantern room, and the keeper's daughter, Margaret, held a sheet of canvas against the gap for most of \
        the night so that the light would not go out. Ships passing the cape that night reported the beam as \
        steady as ever. The light was electrified in 1948, automated in 1976, and finally switched off in 2011, \
        when satellite navigation had made it unnecessary. Today the tower belongs to a small trust of local \
        volunteers. They open it to visitors on summer weekends, sell postcards and honey from the keeper's \
        garden, and repaint the iron railings every other spring. From the gallery at the top, on a clear day, \
        you can see the mountains on the far side of the bay, the fishing boats returning in the late \
        afternoon, and, if you are lucky, the seals that sleep on the rocks below the western cliff.
        """

    static let groundedPrompts = [
        "Repeat the following text exactly, word for word:\n\n\(passage)",
        "Rewrite the following text, changing every year to words (for example 1856 becomes eighteen fifty-six) and keeping everything else the same:\n\n\(passage)",
        "Copy the following text and replace the name Margaret with Ellen:\n\n\(passage)",
        "Fix any spelling mistakes in the following text and output the whole corrected text:\n\n\(passage)",
    ]

    func run() throws {
        if let stack { return try runThroughStack(stack) }
        let file = try GGUFFile(path: try ModelLoading.resolve(model))
        let tokenizer = try BPETokenizer(file: file)
        let llama = try LlamaModel(file: file, threads: threads)
        var drafters: [any Drafter] = []
        if method == .earlyExit { drafters.append(ModelDrafter(earlyExitOf: llama, layers: earlyExitLayers)) }
        if method == .model {
            let draftFile = try GGUFFile(path: try ModelLoading.resolve(draftModel ?? model))
            drafters.append(try ModelDrafter(draft: try LlamaModel(file: draftFile, threads: threads), draftTokenizer: try BPETokenizer(file: draftFile),
                                             targetTokenizer: tokenizer))
        }
        // A large --speculate-max-batch keeps speculation on at every level: what it would cost
        // where the default policy switches it off.
        let engine = DecodeEngine(model: llama, tokenizer: tokenizer,
                                  configuration: .init(kvTokens: 16_384, speculation: SpeculationPolicy(maxBatchToSpeculate: speculateMaxBatch)),
                                  drafters: drafters)
        defer { engine.shutdown() }
        let grounded = try Self.groundedPrompts.map { try GenerateParameters(prompt: $0, chat: true).promptTokens(tokenizer: tokenizer) }
        let chat = try BenchGenerateCommand.prompts.map { try GenerateParameters(prompt: $0, chat: true).promptTokens(tokenizer: tokenizer) }
        print("speculative \(method.rawValue), draft tokens \(draftTokens.map(String.init) ?? "auto"), speculation off above \(speculateMaxBatch) running, \(threads) threads, load average \(BenchModelCommand.loadAverage())")
        let variants = [Variant(label: "plain")] + (drafts > 1 ? [1, drafts] : [1]).map { Variant(label: Self.label(method, drafts: $0), method: method, drafts: $0) }
        for (name, prompts, maxTokens) in [("grounded", grounded, groundedTokens), ("chat", chat, chatTokens)] {
            for level in levels {
                let work = (0..<level).map { prompts[$0 % prompts.count] }
                let measured = runRow(variants) { variant in
                    Self.measure(engine, work, maxTokens: maxTokens, speculation: variant.method.map {
                        SpeculationSettings(method: $0, draftTokens: draftTokens, drafts: variant.drafts)
                    })
                }
                report(workload: name, level: level, variants: variants, measured: measured)
            }
        }
        // The concurrency-1 row's generation: the same prompt ids and length.
        try runLlamaCpp(path: file.path, prompts: [grounded[0]])
        print("load average after: \(BenchModelCommand.loadAverage())")
    }

    /// One way of running a row's generations.
    struct Variant {
        var label: String
        var method: DraftMethod?
        var drafts = 1
        /// Through the stack: the job's `parallel_drafting` (nil: absent).
        var parallelDrafting: Bool?
    }

    static func label(_ method: DraftMethod, drafts: Int) -> String { drafts > 1 ? "\(method.rawValue)×\(drafts)" : method.rawValue }

    /// Runs every variant in order then in reverse, `rounds` times, and adds up each one's runs;
    /// first one unmeasured run, so that every measured run finds the prompts' blocks in the
    /// prefix cache alike (the first run alone would compute them).
    func runRow(_ variants: [Variant], _ measure: (Variant) throws -> Measurement) rethrows -> [Measurement] {
        _ = try measure(variants[0])
        var measured = [Measurement](repeating: Measurement(), count: variants.count)
        for _ in 0..<rounds {
            for i in Array(variants.indices) + variants.indices.reversed() { measured[i].add(try measure(variants[i])) }
        }
        return measured
    }

    struct Measurement {
        var tokens = 0
        var seconds = 0.0
        /// Tokens after each sequence's first, and the time from its first token to its last, summed.
        var decodeTokens = 0
        var decodeSeconds = 0.0
        /// End-to-end tokens/s of each run added, in order.
        var runRates: [Double] = []
        var stats = SpeculationStats()
        var ids: [[Int32]] = []
        /// Through the stack: drafting rounds a draft worker answered.
        var remoteRounds = 0
        var predraftedRounds = 0
        var remoteWaitMilliseconds = 0.0
        /// False when runs added together generated different tokens.
        var identicalRuns = true
        /// In process: the engine's forward calls (steps), all runs together.
        var steps = 0
        var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
        var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }

        /// Adds another run of the same generations (the first run's ids are kept to compare).
        mutating func add(_ other: Measurement) {
            tokens += other.tokens
            seconds += other.seconds
            decodeTokens += other.decodeTokens
            decodeSeconds += other.decodeSeconds
            runRates += other.runRates.isEmpty ? [other.tokensPerSecond] : other.runRates
            stats = SpeculationStats(verifications: stats.verifications + other.stats.verifications,
                                     draftedTokens: stats.draftedTokens + other.stats.draftedTokens,
                                     acceptedTokens: stats.acceptedTokens + other.stats.acceptedTokens)
            if ids.isEmpty { ids = other.ids } else if ids != other.ids { identicalRuns = false }
            remoteRounds += other.remoteRounds
            predraftedRounds += other.predraftedRounds
            remoteWaitMilliseconds += other.remoteWaitMilliseconds
            steps += other.steps
        }
    }

    /// Runs the generations at once (greedy) and waits for all of them.
    static func measure(_ engine: DecodeEngine, _ prompts: [[Int32]], maxTokens: Int, speculation: SpeculationSettings?) -> Measurement {
        let stepsBefore = engine.snapshot.steps
        let start = ContinuousClock.now
        let streams = prompts.map { engine.submit(DecodeRequest(prompt: $0, maxTokens: maxTokens, speculation: speculation), sampling: .greedy).events }
        let results = UnsafeMutableBufferPointer<(ids: [Int32], stats: SpeculationStats?, decodeSeconds: Double)>.allocate(capacity: streams.count)
        results.initialize(repeating: ([], nil, 0))
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        let group = DispatchGroup()
        for (i, events) in streams.enumerated() {
            group.enter()
            Task {
                var ids: [Int32] = [], stats: SpeculationStats?
                var first: ContinuousClock.Instant?, last = ContinuousClock.now
                for await event in events {
                    if case .token(_, let token, _) = event {
                        ids.append(token)
                        last = .now
                        if first == nil { first = last }
                    }
                    if case .speculation(let s) = event { stats = s }
                }
                shared[i] = (ids, stats, first.map { GenerateCommand.milliseconds(last - $0) / 1000 } ?? 0)
                group.leave()
            }
        }
        group.wait()
        var m = Measurement()
        m.seconds = GenerateCommand.milliseconds(ContinuousClock.now - start) / 1000
        // The engine publishes its counts just after the last step's events: wait for them.
        for _ in 0..<100 where engine.snapshot.running > 0 { usleep(1000) }
        m.steps = engine.snapshot.steps - stepsBefore
        for r in results {
            m.tokens += r.ids.count
            m.decodeTokens += max(r.ids.count - 1, 0)
            m.decodeSeconds += r.decodeSeconds
            m.ids.append(r.ids)
            if let s = r.stats {
                m.stats = SpeculationStats(verifications: m.stats.verifications + s.verifications, draftedTokens: m.stats.draftedTokens + s.draftedTokens,
                                           acceptedTokens: m.stats.acceptedTokens + s.acceptedTokens)
            }
        }
        return m
    }

    /// One line per speculative variant against the plain one (one JSON row per level with --json).
    func report(workload: String, level: Int, variants: [Variant], measured: [Measurement]) {
        let plain = measured[0]
        let single = measured[1]
        var entries: [[String: Any]] = []
        var lines: [String] = []
        for (variant, m) in zip(variants, measured).dropFirst() {
            let identical = m.ids == plain.ids && m.identicalRuns && plain.identicalRuns
            // Typed first: in an `[String: Any]` literal a ternary's `: 0` branch stays an Int.
            let speedup: Double = plain.tokensPerSecond > 0 ? m.tokensPerSecond / plain.tokensPerSecond : 0
            let decodeSpeedup: Double = plain.decodeTokensPerSecond > 0 ? m.decodeTokensPerSecond / plain.decodeTokensPerSecond : 0
            let roundRatios = zip(m.runRates, plain.runRates).map { $1 > 0 ? $0 / $1 : 0 }
            let waitPerRound: Double = m.remoteRounds > 0 ? m.remoteWaitMilliseconds / Double(m.remoteRounds) : 0
            var entry: [String: Any] = [
                "variant": variant.label, "drafts": variant.drafts, "tokens_per_second": m.tokensPerSecond, "speedup": speedup,
                "decode_tokens_per_second": m.decodeTokensPerSecond, "decode_speedup": decodeSpeedup,
                "speedup_min": roundRatios.min() ?? 0, "speedup_max": roundRatios.max() ?? 0,
                "acceptance_rate": m.stats.acceptanceRate, "tokens_per_verification": m.stats.tokensPerVerification,
                "greedy_identical": identical,
            ]
            var line = String(format: "  %@ %6.1f tok/s (×%.2f, runs ×%.2f–%.2f), decode %6.1f tok/s (×%.2f), acceptance %4.1f %%, %.2f tokens per verifying step",
                              variant.label.padding(toLength: 12, withPad: " ", startingAt: 0), m.tokensPerSecond, speedup,
                              roundRatios.min() ?? 0, roundRatios.max() ?? 0, m.decodeTokensPerSecond, decodeSpeedup,
                              m.stats.acceptanceRate * 100, m.stats.tokensPerVerification)
            if stack == nil {
                entry["forward_calls_per_run"] = m.steps / max(m.runRates.count, 1)
                line += ", \(m.steps / max(m.runRates.count, 1)) forward calls per run"
            }
            if variant.drafts > 1 {
                let gain: Double = single.stats.acceptanceRate > 0 ? m.stats.acceptanceRate / single.stats.acceptanceRate : 0
                entry["acceptance_gain_over_one_draft"] = gain
                line += String(format: " (acceptance ×%.2f over one draft)", gain)
            }
            if stack != nil {
                entry["remote_rounds"] = m.remoteRounds
                entry["predrafted_rounds"] = m.predraftedRounds
                entry["remote_wait_ms_per_round"] = waitPerRound
                line += String(format: ", %d draft-worker rounds (%d drafted ahead, %.2f ms wait each)", m.remoteRounds, m.predraftedRounds, waitPerRound)
                if let ahead = variant.parallelDrafting { line += ahead ? ", drafting ahead" : ", not drafting ahead" }
            }
            entries.append(entry)
            lines.append(line + ", output \(identical ? "identical" : "DIFFERENT")")
        }
        if json {
            print(JSONOutput.compact(["workload": workload, "concurrency": level, "via": stack == nil ? "process" : "stack", "tokens": plain.tokens,
                                      "plain_tokens_per_second": plain.tokensPerSecond,
                                      "plain_decode_tokens_per_second": plain.decodeTokensPerSecond,
                                      "plain_forward_calls_per_run": stack == nil ? plain.steps / max(plain.runRates.count, 1) : 0, "variants": entries]))
            return
        }
        let runs = max(plain.runRates.count, 1)
        print(String(format: "%@ concurrency %2d: plain %6.1f tok/s, decode %6.1f tok/s, %d tokens per run", workload, level,
                     plain.tokensPerSecond, plain.decodeTokensPerSecond, plain.tokens / runs) + (stack == nil ? ", \(plain.steps / runs) forward calls per run" : ""))
        for line in lines { print(line) }
    }

    /// llama.cpp with and without `LlamaPromptLookupDecoding` on `prompts`, one stream.
    func runLlamaCpp(path: String, prompts: [[Int32]]) throws {
        guard !python.isEmpty else { return }
        guard FileManager.default.fileExists(atPath: python) else {
            print("llama.cpp: skipped (\(python) not found: make bench-deps installs llama-cpp-python)")
            return
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../tools/bench_prompt_lookup.py").standardized.path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [FileManager.default.fileExists(atPath: script) ? script : "tools/bench_prompt_lookup.py"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        let job: [String: Any] = ["model": path, "threads": threads, "max_tokens": groundedTokens, "prompts": prompts.map { $0.map(Int.init) }]
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: job))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let totals = try JSONSerialization.jsonObject(with: data) as? [String: [String: Double]],
              let plain = totals["plain"], let lookup = totals["lookup"] else {
            print("llama.cpp: failed (exit \(p.terminationStatus))")
            return
        }
        let plainRate = plain["tokens"]! / plain["seconds"]!, lookupRate = lookup["tokens"]! / lookup["seconds"]!
        if json {
            print(JSONOutput.compact(["workload": "grounded", "engine": "llama.cpp", "concurrency": 1, "plain_tokens_per_second": plainRate,
                                      "prompt_lookup_tokens_per_second": lookupRate, "speedup": lookupRate / plainRate]))
        } else {
            print(String(format: "llama.cpp grounded concurrency  1: plain %6.1f tok/s, prompt lookup %6.1f tok/s (×%.2f), %d tokens",
                         plainRate, lookupRate, lookupRate / plainRate, Int(lookup["tokens"]!)))
        }
    }
}
