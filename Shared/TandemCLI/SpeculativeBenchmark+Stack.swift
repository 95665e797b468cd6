import Foundation
import TandemClient
import TandemDecode
import TandemModel

/// `tandem bench generate --speculative METHOD --via-stack`: the same workloads as the in-process
/// benchmark, as `generate` jobs through a running stack, so speculative jobs get their drafts from
/// the stack's draft workers (`tandem up` starts one; the decode workers ask draft workers first).
///
/// Per row, in one run and back to back: plain jobs, speculative jobs (for model methods with
/// `parallel_drafting` on), for model methods speculative jobs with it off, so the draft
/// worker's drafting ahead (PEARL) is measured against the same load, and with `--drafts N`
/// speculative jobs with N drafts; then the same in reverse order, `rounds` times.
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
        let label = Self.label(method, drafts: 1)
        var variants = [Variant(label: "plain"), Variant(label: label, method: method, parallelDrafting: ahead ? true : nil)]
        if ahead { variants.append(Variant(label: label, method: method, parallelDrafting: false)) }
        if drafts > 1 { variants.append(Variant(label: Self.label(method, drafts: drafts), method: method, drafts: drafts)) }
        for (name, prompts, maxTokens) in [("grounded", grounded, groundedTokens), ("chat", chat, chatTokens)] {
            for level in levels {
                let work = (0..<level).map { prompts[$0 % prompts.count] }
                let measured = try runRow(variants) { variant in
                    try Self.measure(router, work, maxTokens: maxTokens, speculative: variant.method, draftTokens: draftTokens,
                                     drafts: variant.drafts, parallelDrafting: variant.parallelDrafting)
                }
                report(workload: name, level: level, variants: variants, measured: measured)
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
                        drafts: Int, parallelDrafting: Bool?) throws -> Measurement {
        let results = UnsafeMutableBufferPointer<Result<GenerateResult, Error>?>.allocate(capacity: prompts.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        let group = DispatchGroup()
        let start = ContinuousClock.now
        for (i, prompt) in prompts.enumerated() {
            let params = GenerateParameters(prompt: prompt, chat: true, maxTokens: maxTokens, speculative: speculative?.rawValue,
                                            draftTokens: speculative == nil ? nil : draftTokens, parallelDrafting: speculative == nil ? nil : parallelDrafting,
                                            drafts: drafts > 1 ? drafts : nil)
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
            // The worker's own decode rate: tokens after the first over the time since the first.
            if result.ids.count > 1, result.timings.decodeTokensPerSecond > 0 {
                m.decodeTokens += result.ids.count - 1
                m.decodeSeconds += Double(result.ids.count - 1) / result.timings.decodeTokensPerSecond
            }
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
}
