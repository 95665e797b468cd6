import Foundation
import TandemClient
import TandemDecode
import TandemModel

/// `tandem bench generate --speculative METHOD --via-stack`: the same workloads as the in-process
/// benchmark, as `generate` jobs through a running stack, so speculative jobs get their drafts from
/// the stack's draft workers (`tandem up` starts one; the decode workers ask draft workers first).
///
/// Per row, in one run and back to back: plain jobs, speculative jobs (for model methods with
/// `parallel_drafting` on) and for model methods speculative jobs with it off, so the draft
/// worker's drafting ahead (PEARL) is measured against the same load; then the same in reverse
/// order, and each figure is over both runs.
extension SpeculativeBenchmark {
    func runThroughStack(_ router: RouterOptions) throws {
        let client = try router.connect()
        let workers = (try client.query(.workers) as? [String: Any])?["workers"] as? [[String: Any]] ?? []
        let drafts = workers.filter { $0["service"] as? String == "draft" }.count
        let decodes = workers.filter { $0["service"] as? String == "decode" }.count
        guard decodes > 0 else { throw CLIError("no decode worker is registered at \(router.endpoint): start the stack with `tandem up`") }
        print("speculative \(method.rawValue) through the stack at \(router.endpoint): \(decodes) decode, \(drafts) draft workers; draft tokens \(draftTokens.map(String.init) ?? "auto"); load average \(BenchModelCommand.loadAverage())")
        if drafts == 0 { print("(no draft worker: the decode workers draft in process, or decode plainly for methods they lack)") }
        let grounded = Self.groundedPrompts, chat = BenchGenerateCommand.prompts
        let ahead = method != .lookup
        for (name, prompts, maxTokens) in [("grounded", grounded, groundedTokens), ("chat", chat, chatTokens)] {
            for level in levels {
                let work = (0..<level).map { prompts[$0 % prompts.count] }
                // Plain, speculative (drafting ahead where it applies), speculative without drafting
                // ahead; run in that order and then in reverse, so a load that drifts during the row
                // weighs on every variant alike.
                let variants: [(DraftMethod?, Bool?)] = [(nil, nil), (method, ahead ? true : nil)] + (ahead ? [(method, false)] : [])
                var measured = [Measurement](repeating: Measurement(), count: variants.count)
                for i in Array(variants.indices) + variants.indices.reversed() {
                    measured[i].add(try Self.measure(router, work, maxTokens: maxTokens, speculative: variants[i].0, draftTokens: draftTokens,
                                                     parallelDrafting: variants[i].1))
                }
                reportStack(workload: name, level: level, plain: measured[0], speculative: measured[1], serial: ahead ? measured[2] : nil)
            }
        }
        // llama.cpp's prompt lookup on the concurrency-1 grounded generation, same prompt ids.
        let file = try GGUFFile(path: try ModelLoading.resolve(model))
        let tokenizer = try BPETokenizer(file: file)
        try runLlamaCpp(path: file.path, prompts: [try GenerateParameters(prompt: grounded[0], chat: true).promptTokens(tokenizer: tokenizer)])
        print("load average after: \(BenchModelCommand.loadAverage())")
    }

    /// Submits the generations at once (greedy chat jobs), each followed by its own client thread.
    static func measure(_ router: RouterOptions, _ prompts: [String], maxTokens: Int, speculative: DraftMethod?, draftTokens: Int?,
                        parallelDrafting: Bool?) throws -> Measurement {
        let results = UnsafeMutableBufferPointer<Result<GenerateResult, Error>?>.allocate(capacity: prompts.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        let group = DispatchGroup()
        let start = ContinuousClock.now
        for (i, prompt) in prompts.enumerated() {
            let params = GenerateParameters(prompt: prompt, chat: true, maxTokens: maxTokens, speculative: speculative?.rawValue,
                                            draftTokens: speculative == nil ? nil : draftTokens, parallelDrafting: speculative == nil ? nil : parallelDrafting)
            group.enter()
            Thread {
                shared[i] = Result {
                    let client = try router.connect()
                    let job = try client.submit(kind: "generate", params: String(decoding: try JSONEncoder().encode(params), as: UTF8.self))
                    let final = try client.follow(job, timeoutMilliseconds: 600_000)
                    guard final.state == "succeeded", let text = final.result else {
                        throw CLIError("generation \(job) \(final.state): \(final.code ?? "") \(final.error ?? "")")
                    }
                    return try JSONDecoder().decode(GenerateResult.self, from: Data(text.utf8))
                }
                group.leave()
            }.start()
        }
        group.wait()
        var m = Measurement()
        m.seconds = GenerateCommand.milliseconds(ContinuousClock.now - start) / 1000
        for r in results {
            let result = try r!.get()
            m.tokens += result.ids.count
            m.ids.append(result.ids)
            if let s = result.speculation {
                m.stats = SpeculationStats(verifications: m.stats.verifications + s.verifications, draftedTokens: m.stats.draftedTokens + s.draftedTokens,
                                           acceptedTokens: m.stats.acceptedTokens + s.acceptedTokens)
                m.remoteRounds += s.remoteRounds ?? 0
                m.predraftedRounds += s.predraftedRounds ?? 0
                m.remoteWaitMilliseconds += s.remoteWaitMilliseconds ?? 0
            }
        }
        return m
    }

    private func reportStack(workload: String, level: Int, plain: Measurement, speculative: Measurement, serial: Measurement?) {
        let identical = plain.ids == speculative.ids && (serial.map { $0.ids == plain.ids && $0.identicalRuns } ?? true)
            && plain.identicalRuns && speculative.identicalRuns
        // Typed first: in an `[String: Any]` literal a ternary's `: 0` branch stays an Int, and
        // reading it back as a Double crashed the bench when no draft-worker round happened.
        let speedup: Double = plain.tokensPerSecond > 0 ? speculative.tokensPerSecond / plain.tokensPerSecond : 0
        let waitPerRound: Double = speculative.remoteRounds > 0 ? speculative.remoteWaitMilliseconds / Double(speculative.remoteRounds) : 0
        var row: [String: Any] = [
            "workload": workload, "concurrency": level, "tokens": speculative.tokens, "via": "stack",
            "plain_tokens_per_second": plain.tokensPerSecond, "speculative_tokens_per_second": speculative.tokensPerSecond,
            "speedup": speedup,
            "acceptance_rate": speculative.stats.acceptanceRate, "tokens_per_verification": speculative.stats.tokensPerVerification,
            "remote_rounds": speculative.remoteRounds, "predrafted_rounds": speculative.predraftedRounds, "greedy_identical": identical,
            "remote_wait_ms_per_round": waitPerRound,
        ]
        var parallelDraftingGain = 0.0
        if let serial {
            parallelDraftingGain = serial.tokensPerSecond > 0 ? speculative.tokensPerSecond / serial.tokensPerSecond : 0
            row["no_parallel_drafting_tokens_per_second"] = serial.tokensPerSecond
            row["parallel_drafting_gain"] = parallelDraftingGain
        }
        if json { print(JSONOutput.compact(row)); return }
        var line = String(format: "%@ concurrency %2d: plain %6.1f tok/s, %@ %6.1f tok/s (×%.2f), acceptance %4.1f %%, %.2f tokens per verifying step, %d draft-worker rounds (%d drafted ahead, %.2f ms wait each)",
                          workload.padding(toLength: 8, withPad: " ", startingAt: 0), level, plain.tokensPerSecond, method.rawValue,
                          speculative.tokensPerSecond, speedup, speculative.stats.acceptanceRate * 100,
                          speculative.stats.tokensPerVerification, speculative.remoteRounds, speculative.predraftedRounds, waitPerRound)
        if let serial {
            line += String(format: "; without drafting ahead %6.1f tok/s (parallel drafting ×%.2f)", serial.tokensPerSecond, parallelDraftingGain)
        }
        print(line + ", output \(identical ? "identical" : "DIFFERENT")")
    }
}
