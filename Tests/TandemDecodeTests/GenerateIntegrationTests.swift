import Foundation
import Synchronization
import TandemClient
import TandemDecode
import TandemModel
import TandemWire
import TestSupport
import XCTest

/// `generate` end to end: real PostgreSQL, a real router and a real `tandem-decode` on
/// 127.0.0.1, the real SmolLM2 model, compared token for token with the in-process
/// `LocalGenerator` (what `tandem generate --local` runs).
final class GenerateIntegrationTests: XCTestCase {
    var database: TestDatabase!
    var children: [ChildProcess] = []

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// The model, loaded once for every test's reference runs.
    nonisolated(unsafe) static var reference: (model: LlamaModel, tokenizer: BPETokenizer)?

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            if ProcessInfo.processInfo.environment["TANDEM_ALLOW_NO_MODEL"] == "1" { throw XCTSkip("no model (TANDEM_ALLOW_NO_MODEL=1)") }
            XCTFail("the model is missing at \(Self.modelPath): run `make test` (it pulls it) or `tandem models pull smollm2-135m`")
            throw XCTSkip("no model")
        }
        database = try TestDatabase()
        if Self.reference == nil {
            let file = try GGUFFile(path: Self.modelPath)
            Self.reference = (try LlamaModel(file: file, threads: 1), try BPETokenizer(file: file))
        }
    }

    override func tearDownWithError() throws {
        ChildProcess.stopAll(&children, printingLogs: testRun?.hasSucceeded == false)
        database?.drop()
    }

    /// Ten greedy generations, chat and plain, with stops and a system prompt: served through the
    /// stack in place and disaggregated, each must equal `tandem generate --local`.
    static let tenPrompts: [GenerateParameters] = [
        .init(prompt: "The capital of France is", maxTokens: 16),
        .init(prompt: "What is 2 + 2? Answer in one word.", chat: true, maxTokens: 12),
        .init(prompt: "Write a haiku about the sea.", chat: true, system: "You are a poet.", maxTokens: 20),
        .init(prompt: "def fibonacci(n):", maxTokens: 24, stop: ["\n\n"]),
        .init(prompt: "Name three colors.", chat: true, maxTokens: 14),
        .init(prompt: "Translate 'good morning' into French.", chat: true, maxTokens: 10),
        .init(prompt: "Explain gravity to a child in one sentence.", chat: true, maxTokens: 24),
        .init(prompt: "1, 2, 3, 4,", maxTokens: 12),
        .init(prompt: "Write a limerick about a cat.", chat: true, maxTokens: 20, stop: ["\n"]),
        .init(prompt: "¿Cuál es la capital de España?", chat: true, maxTokens: 12),
    ]

    // MARK: helpers

    /// `clientsForDecode`: the decode worker gets the router's client endpoint (it asks the router
    /// for prefill and draft workers).
    func startStack(decodeArguments: [String] = [], clientsForDecode: Bool = false) throws -> LocalRouter {
        let router = try LocalRouter(databaseURL: database.url, schema: database.schema)
        children.append(router.process)
        let clients = clientsForDecode ? ["--router-clients", router.clientEndpoint] : []
        let decode = try router.startWorker("tandem-decode", capacity: 64, name: "decode-1",
                                            extraArguments: ["--model", Self.modelPath, "--threads", "1", "--kv-tokens", "2048"] + clients + decodeArguments)
        children.append(decode)
        let client = try client(router)
        eventually(timeout: 20, "decode worker registers") {
            let answer = try client.query(.workers) as? [String: Any]
            return (answer?["workers"] as? [[String: Any]] ?? []).contains { $0["service"] as? String == "decode" }
        }
        return router
    }

    func client(_ router: LocalRouter) throws -> RouterClient {
        try RouterClient(configuration: .init(routerEndpoint: router.clientEndpoint, replyTimeoutMilliseconds: 10_000))
    }

    struct Streamed {
        var final: ClientReply.Final
        var partials: [GeneratePartial]
        var seqs: [Int64]
        var result: GenerateResult? {
            final.result.flatMap { try? JSONDecoder().decode(GenerateResult.self, from: Data($0.utf8)) }
        }
    }

    func generate(_ router: LocalRouter, _ params: GenerateParameters, onPartial: (Int) -> Void = { _ in }) throws -> Streamed {
        let client = try client(router)
        let job = try client.submit(kind: "generate", params: String(decoding: try JSONEncoder().encode(params), as: UTF8.self))
        var partials: [GeneratePartial] = []
        var seqs: [Int64] = []
        let final = try client.follow(job, timeoutMilliseconds: 120_000) { partial in
            seqs.append(partial.seq)
            partials.append(try! JSONDecoder().decode(GeneratePartial.self, from: Data(partial.data!.utf8)))
            onPartial(partials.count)
        }
        return Streamed(final: final, partials: partials, seqs: seqs)
    }

    /// Runs every generation at once, each from its own client thread; `onPartial(i, n)`: case i
    /// has streamed n tokens (called from its thread).
    func generateConcurrently(_ router: LocalRouter, _ cases: [GenerateParameters],
                                      onPartial: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> [Streamed] {
        let results = UnsafeMutableBufferPointer<Result<Streamed, Error>?>.allocate(capacity: cases.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        nonisolated(unsafe) let test = self
        nonisolated(unsafe) let stack = router
        let group = DispatchGroup()
        for i in cases.indices {
            group.enter()
            Thread {
                shared[i] = Result { try test.generate(stack, cases[i]) { onPartial(i, $0) } }
                group.leave()
            }.start()
        }
        group.wait()
        return try results.map { try XCTUnwrap($0).get() }
    }

    /// What the in-process reference loop generates for `params`.
    func local(_ params: GenerateParameters) throws -> (ids: [Int32], text: String) {
        let (model, tokenizer) = Self.reference!
        let prompt = try params.promptTokens(tokenizer: tokenizer)
        var text = ""
        let result = try LocalGenerator(model: model, tokenizer: tokenizer).generate(
            prompt: prompt, maxTokens: params.maxTokens ?? 128, sampling: params.sampling, stops: params.stop ?? []) { text += $0.text }
        return (result.tokens, text + result.tail)
    }

    func assertMatchesLocal(_ streamed: Streamed, _ params: GenerateParameters, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertMatches(streamed, try local(params), params, file: file, line: line)
    }

    /// `expected`: `local(params)`, computed once where several runs share it.
    func assertMatches(_ streamed: Streamed, _ expected: (ids: [Int32], text: String), _ params: GenerateParameters,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(streamed.final.state, "succeeded", "\(streamed.final)", file: file, line: line)
        let result = try XCTUnwrap(streamed.result, file: file, line: line)
        XCTAssertEqual(result.ids, expected.ids, "token ids of \(params)", file: file, line: line)
        XCTAssertEqual(result.text, expected.text, file: file, line: line)
        XCTAssertEqual(streamed.partials.map(\.text).joined(), expected.text, "the streamed text is the text", file: file, line: line)
        XCTAssertEqual(streamed.partials.flatMap(\.ids), expected.ids, file: file, line: line)
        XCTAssertEqual(streamed.seqs, streamed.seqs.indices.map(Int64.init), "one partial per token, seq = index", file: file, line: line)
    }

    // MARK: tests

    func testGreedyOutputThroughTheStackIsIdenticalToLocal() throws {
        let router = try startStack()
        for params in Self.tenPrompts {
            let streamed = try generate(router, params)
            try assertMatchesLocal(streamed, params)
            XCTAssertNil(streamed.result?.prefill, "no prefill worker: prefilled in place")
        }

        // Prefix caching: a long shared system prompt is computed once; the second request adopts
        // its blocks and still generates exactly what LocalGenerator does.
        let system = "You are a careful assistant. Answer briefly, in plain words, and never invent facts. "
            + "If you do not know, say so. Prefer short sentences. Do not use lists unless asked."
        let first = GenerateParameters(prompt: "What is the boiling point of water?", chat: true, system: system, maxTokens: 8)
        let second = GenerateParameters(prompt: "Name a large mammal.", chat: true, system: system, maxTokens: 8)
        try assertMatchesLocal(try generate(router, first), first)
        let cached = try generate(router, second)
        try assertMatchesLocal(cached, second)
        XCTAssertGreaterThanOrEqual(cached.result?.cachedPromptTokens ?? 0, 32, "the system prompt's full blocks were reused")

        // The CLI both ways: `tandem generate --json` through the router equals `--local --json`.
        let args = ["generate", "Name three colors.", "--chat", "--max-tokens", "14", "--json"]
        let viaStack = try ChildProcess(BuiltExecutables.url("tandem"), args + ["--router", router.clientEndpoint], name: "cli-stack")
        let viaLocal = try ChildProcess(BuiltExecutables.url("tandem"), args + ["--local", "--model", Self.modelPath, "--threads", "1"], name: "cli-local")
        children += [viaStack, viaLocal]
        XCTAssertEqual(viaStack.waitForExit(timeout: 60), 0, viaStack.log)
        XCTAssertEqual(viaLocal.waitForExit(timeout: 60), 0, viaLocal.log)
        func json(_ log: String) -> [String: Any] {
            log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.last ?? [:]
        }
        let stack = json(viaStack.log), local = json(viaLocal.log)
        XCTAssertEqual(stack["ids"] as? [Int], local["ids"] as? [Int], "\(viaStack.log)\n\(viaLocal.log)")
        XCTAssertEqual(stack["text"] as? String, local["text"] as? String)
        XCTAssertNotNil(stack["ids"])
    }

    func testConcurrentGenerationsOfDifferentLengthsEachEqualTheirSoloRun() throws {
        let router = try startStack()
        let subjects = ["Once upon a time", "The quick brown fox", "List the planets:", "In 1492,", "Rain is", "My favourite food is",
                        "The best way to learn", "Mountains are", "A good friend", "The ocean"]
        // 32 generations of 3 to 31 tokens; every fourth sampled (the position-keyed draw makes it
        // independent of the batch it ran in).
        let cases: [GenerateParameters] = (0..<32).map { i in
            let prompt = subjects[i % subjects.count] + (i >= subjects.count ? " (\(i))" : "")
            return i % 4 == 3 ? .init(prompt: prompt, maxTokens: 3 + (i * 7) % 29, temperature: 0.8, topK: 40, topP: 0.95, seed: UInt64(i))
                : .init(prompt: prompt, maxTokens: 3 + (i * 7) % 29)
        }
        let results = try generateConcurrently(router, cases)
        var batchedTogether = false
        for (i, params) in cases.enumerated() {
            let streamed = results[i]
            try assertMatchesLocal(streamed, params)
            if (streamed.result?.kv.running ?? 0) > 0 { batchedTogether = true }
        }
        XCTAssertTrue(batchedTogether, "some sequence finished while others were running")
    }

    func testResumeFromLedgerTokensContinuesIdentically() throws {
        let router = try startStack()
        // Greedy and seeded sampling: both continue exactly after the tokens an earlier attempt made.
        let cases: [GenerateParameters] = [
            .init(prompt: "Tell me about the moon.", chat: true, maxTokens: 16),
            .init(prompt: "Tell me about the moon.", chat: true, maxTokens: 16, temperature: 0.9, topP: 0.9, seed: 42),
        ]
        for var params in cases {
            let whole = try local(params)
            params.resumeTokens = Array(whole.ids.prefix(6))
            let resumed = try generate(router, params)
            XCTAssertEqual(resumed.final.state, "succeeded", "\(resumed.final)")
            let result = try XCTUnwrap(resumed.result)
            XCTAssertEqual(result.ids, whole.ids, "the resumed generation ends as the undisturbed one")
            XCTAssertEqual(result.text, whole.text)
            XCTAssertEqual(result.resumedTokens, 6)
            XCTAssertEqual(resumed.seqs.first, 6, "partials continue the numbering after the resumed tokens")
            XCTAssertEqual(resumed.partials.flatMap(\.ids), Array(whole.ids.dropFirst(6)))
        }
    }

    func testDisaggregatedPrefillShipsIdenticalBlocksAndMatchesLocal() throws {
        // The router places every prompt of 4 or more uncached tokens on the prefill worker.
        let router = try LocalRouter(databaseURL: database.url, schema: database.schema,
                                     extraArguments: ["--model", Self.modelPath, "--prefill-min-tokens", "4"])
        children.append(router.process)
        children.append(try router.startWorker("tandem-prefill", capacity: 16, name: "prefill-1",
                                               extraArguments: ["--model", Self.modelPath, "--threads", "1"]))
        children.append(try router.startWorker("tandem-decode", capacity: 64, name: "decode-1", extraArguments: [
            "--model", Self.modelPath, "--threads", "1", "--kv-tokens", "4096", "--router-clients", router.clientEndpoint,
        ]))
        let client = try client(router)
        eventually(timeout: 20, "prefill and decode workers register") {
            let answer = try client.query(.workers) as? [String: Any]
            let services = Set((answer?["workers"] as? [[String: Any]] ?? []).compactMap { $0["service"] as? String })
            return services.isSuperset(of: ["prefill", "decode"])
        }
        let cases: [GenerateParameters] = Self.tenPrompts + [
            .init(prompt: "Write one sentence about rivers.", chat: true, maxTokens: 16, temperature: 0.7, seed: 3),
            // Long enough for several chunks: its full blocks stream while later chunks compute.
            .init(prompt: "Summarize in one sentence: " + String(repeating: "The river bends past the old mill, where the miller counts sacks of grain. ", count: 20),
                  chat: true, maxTokens: 8),
        ]
        let results = try generateConcurrently(router, cases)
        let (model, tokenizer) = Self.reference!
        var batchSizes: [Int] = []
        for (i, params) in cases.enumerated() {
            let streamed = results[i]
            try assertMatchesLocal(streamed, params)
            let prefill = try XCTUnwrap(streamed.result?.prefill, "prefilled by the prefill worker: \(String(describing: streamed.final.result))")
            XCTAssertEqual(prefill.worker, "prefill-1")
            // The blocks decode received are the bytes this process computes for the prompt.
            let prompt = try params.promptTokens(tokenizer: tokenizer)
            let cache = PagedKVCache(config: model.config, capacityTokens: prompt.count, blockSizeTokens: 16)
            try cache.createSequence(0)
            _ = try model.forward([ForwardRequest(sequence: 0, tokens: prompt)], cache: cache)
            let expected = KVHandoff(handoff: "", tokens: prompt, blockSizeTokens: 16, blockBytes: cache.blockBytes, firstToken: 0,
                                     bytes: try cache.exportBlocks(0))
            XCTAssertEqual(prefill.bytes, expected.bytes.count)
            XCTAssertEqual(prefill.checksum, expected.checksum, "KV bytes received by decode equal the computed ones")
            let arrival = try XCTUnwrap(prefill.arrivalMilliseconds, "the one-way transfer time is reported")
            XCTAssertGreaterThanOrEqual(arrival, 0)
            if prompt.count > 200 {
                // Only the last chunk's blocks (the 32-token tail, over at most 3 blocks) went after the compute.
                XCTAssertLessThanOrEqual(try XCTUnwrap(prefill.tailBytes), 3 * cache.blockBytes)
            }
            batchSizes.append(prefill.batchPrompts)
        }
        XCTAssertGreaterThan(batchSizes.max() ?? 0, 1, "prompts that waited were computed in one batch: \(batchSizes)")
        // A short prompt is prefilled in place.
        let short = try generate(router, .init(prompt: "Hi", maxTokens: 3))
        XCTAssertNil(short.result?.prefill)
        try assertMatchesLocal(short, .init(prompt: "Hi", maxTokens: 3))
    }

    func testRouterSendsASharedPrefixToTheDecodeWorkerThatHoldsIt() throws {
        let router = try LocalRouter(databaseURL: database.url, schema: database.schema, extraArguments: ["--model", Self.modelPath])
        children.append(router.process)
        let arguments = ["--model", Self.modelPath, "--threads", "1", "--kv-tokens", "2048"]
        children.append(try router.startWorker("tandem-decode", capacity: 64, name: "decode-a", extraArguments: arguments))
        children.append(try router.startWorker("tandem-decode", capacity: 64, name: "decode-b", extraArguments: arguments))
        let client = try client(router)
        func decodeWorkers() throws -> [String: [String: Any]] {
            let answer = try client.query(.workers) as? [String: Any]
            let list = (answer?["workers"] as? [[String: Any]] ?? []).filter { $0["service"] as? String == "decode" }
            return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
        }
        eventually(timeout: 30, "both decode workers report their KV caches") {
            try decodeWorkers().values.filter { $0["kv_total_blocks"] != nil }.count == 2
        }
        let system = "You are the help desk of a small town library. Answer in one short sentence. The library opens at nine "
            + "and closes at six, except on Sundays when it is closed. Members may borrow five books for three weeks. "
            + "Late books cost ten cents a day. The reading room is on the first floor and the children's corner is next to it."
        let first = GenerateParameters(prompt: "When do you open?", chat: true, system: system, maxTokens: 6)
        let opened = try generate(router, first)
        try assertMatchesLocal(opened, first)
        let holder = try XCTUnwrap(opened.result?.worker)
        eventually(timeout: 10, "\(holder) reports the system prompt's blocks") {
            (try decodeWorkers()[holder]?["cached_prefixes"] as? Int ?? 0) >= 4
        }
        for question in ["How many books may I borrow?", "Are you open on Sunday?", "How long can I keep a book?"] {
            let params = GenerateParameters(prompt: question, chat: true, system: system, maxTokens: 6)
            let streamed = try generate(router, params)
            try assertMatchesLocal(streamed, params)
            XCTAssertEqual(streamed.result?.worker, holder, "routed to the worker holding the shared prefix")
            XCTAssertGreaterThanOrEqual(streamed.result?.cachedPromptTokens ?? 0, 64, "and its blocks were adopted there")
        }
        // Nothing cached anywhere and both idle: the worker given work least recently.
        let other = try generate(router, .init(prompt: "Say hello.", maxTokens: 3))
        XCTAssertNotEqual(other.result?.worker, holder)
    }

    func testKilledDecodeWorkerGenerationsFinishElsewhereWithoutDuplicatesOrGaps() throws {
        let router = try LocalRouter(databaseURL: database.url, schema: database.schema)
        children.append(router.process)
        let arguments = ["--model", Self.modelPath, "--threads", "1", "--kv-tokens", "2048"]
        let first = try router.startWorker("tandem-decode", capacity: 64, name: "decode-a", extraArguments: arguments)
        children.append(first)
        let client = try client(router)
        func decodeWorkers() throws -> [[String: Any]] {
            let answer = try client.query(.workers) as? [String: Any]
            return (answer?["workers"] as? [[String: Any]] ?? []).filter { $0["service"] as? String == "decode" }
        }
        eventually(timeout: 20, "decode-a registers") { try decodeWorkers().count == 1 }
        let scenes = ["a sunrise", "a forest", "a city at night", "a desert", "a harbour", "a storm", "a library", "a market"]
        // 16 in flight, every other one sampled with a seed.
        let cases: [GenerateParameters] = (0..<16).map { i in
            let prompt = "Describe \(scenes[i % scenes.count])" + (i < scenes.count ? "." : " in winter.")
            return i % 2 == 1 ? .init(prompt: prompt, chat: true, maxTokens: 48 + 2 * i, temperature: 0.8, seed: UInt64(11 + i))
                : .init(prompt: prompt, chat: true, maxTokens: 48 + 2 * i)
        }
        nonisolated(unsafe) var streamed: [Streamed] = []
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let test = self
        nonisolated(unsafe) let stack = router
        let progress = Mutex([Int](repeating: 0, count: cases.count))
        Thread {
            streamed = (try? test.generateConcurrently(stack, cases) { i, n in progress.withLock { $0[i] = n } }) ?? []
            done.signal()
        }.start()
        // Once every generation has streamed tokens from decode-a, kill it; the router re-queues
        // them when its heartbeats stop, and they wait for decode-b.
        eventually(timeout: 60, "decode-a streams all sixteen") { progress.withLock { $0.allSatisfy { $0 >= 2 } } }
        first.kill9()
        let second = try router.startWorker("tandem-decode", capacity: 64, name: "decode-b", extraArguments: arguments)
        children.append(second)
        XCTAssertEqual(done.wait(timeout: .now() + 180), .success, "the generations finish on decode-b")
        XCTAssertEqual(streamed.count, cases.count)
        for (params, run) in zip(cases, streamed) {
            // The stream (deduplicated by seq at the router) is exactly the undisturbed output.
            try assertMatchesLocal(run, params)
            XCTAssertEqual(run.result?.worker, "decode-b")
            // decode-b resumed from the router's ledger rather than generating those tokens again.
            XCTAssertGreaterThan(run.result?.resumedTokens ?? 0, 0, "resumed from the ledger")
            // The ledger in PostgreSQL holds each token once, in order.
            let row = try client.query(.job(run.final.job)) as? [String: Any]
            let outputs = row?["outputs"] as? [[String: Any]] ?? []
            XCTAssertEqual(outputs.compactMap { $0["seq"] as? Int }, Array(0..<outputs.count))
            let ledgerIDs = outputs.flatMap { (($0["data"] as? [String: Any])?["ids"] as? [Int]) ?? [] }
            XCTAssertEqual(ledgerIDs, run.result?.ids.map(Int.init))
            XCTAssertEqual(row?["attempts"] as? Int, 2)
        }
    }

    func testCancellationMidStreamFreesTheSequenceBlocks() throws {
        let router = try startStack()
        let client = try client(router)
        let params = GenerateParameters(prompt: "Count from one to one thousand: one, two,", maxTokens: 1000)
        let job = try client.submit(kind: "generate", params: String(decoding: try JSONEncoder().encode(params), as: UTF8.self))
        var seen = 0
        var cancelSent = false
        let final = try client.follow(job, timeoutMilliseconds: 60_000) { _ in
            seen += 1
            if seen == 3 && !cancelSent {
                cancelSent = true
                let canceller = try! RouterClient(configuration: .init(routerEndpoint: router.clientEndpoint, replyTimeoutMilliseconds: 10_000))
                _ = try! canceller.cancel(job, timeoutMilliseconds: 20_000)
            }
        }
        XCTAssertEqual(final.state, "cancelled")
        XCTAssertLessThan(seen, 1000)
        // The next generation finds every block free once it has released its own.
        let after = try generate(router, .init(prompt: "Hello", maxTokens: 2))
        let kv = try XCTUnwrap(after.result?.kv)
        XCTAssertEqual(kv.freeBlocks, kv.totalBlocks, "the cancelled sequence's blocks were freed")
        XCTAssertEqual(kv.running + kv.waiting, 0)
    }

    func testTooLongPromptAndMissingModelFailWithClearErrors() throws {
        let router = try startStack()
        let long = try generate(router, .init(prompt: String(repeating: "word ", count: 2100), maxTokens: 4))
        XCTAssertEqual(long.final.state, "failed")
        XCTAssertEqual(long.final.code, "invalid_params")
        XCTAssertTrue(long.final.error?.contains("context") == true, "\(long.final)")

        let broken = try router.startWorker("tandem-decode", capacity: 4, name: "decode-nomodel",
                                            extraArguments: ["--model", "/nonexistent/SmolLM2.gguf"])
        children.append(broken)
        // Stop the good worker so the job lands on the one without a model.
        children[1].terminate(grace: 5)
        let missing = try generate(router, .init(prompt: "Hi", maxTokens: 2))
        XCTAssertEqual(missing.final.state, "failed")
        XCTAssertEqual(missing.final.code, "worker_failed")
        XCTAssertTrue(missing.final.error?.hasPrefix("model missing") == true, "\(missing.final)")
        XCTAssertTrue(missing.final.error?.contains("tandem models pull smollm2-135m") == true, "\(missing.final)")
    }

    func testSpeculativeGenerationThroughTheStackMatchesLocalAndReportsAcceptance() throws {
        let router = try startStack()
        let passage = "The mill by the bridge was built in 1821, burned in 1903, and rebuilt in brick the following year."
        let params = GenerateParameters(prompt: "Repeat this text exactly:\n\(passage)", chat: true, maxTokens: 32, speculative: "lookup")
        let streamed = try generate(router, params)
        try assertMatchesLocal(streamed, params)
        let stats = try XCTUnwrap(streamed.result?.speculation)
        XCTAssertGreaterThan(stats.acceptedTokens, 0, "\(stats)")
        XCTAssertEqual(streamed.partials.count, streamed.result?.ids.count, "accepted drafts stream one partial per token")

        // A method the worker lacks, or a bad draft length, is refused with a clear error.
        let missing = try generate(router, .init(prompt: "Hi", maxTokens: 4, speculative: "model"))
        XCTAssertEqual(missing.final.code, "invalid_params")
        XCTAssertTrue(missing.final.error?.contains("cannot draft with `model`") == true, "\(missing.final)")
        let bad = try generate(router, .init(prompt: "Hi", maxTokens: 4, speculative: "lookup", draftTokens: 99))
        XCTAssertEqual(bad.final.code, "invalid_params")
        XCTAssertTrue(bad.final.error?.contains("draft_tokens") == true, "\(bad.final)")
    }
}
