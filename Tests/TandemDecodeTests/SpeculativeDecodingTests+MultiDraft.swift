import Foundation
import TandemDecode
import TandemModel
import XCTest

/// Multi-draft verification in the decode engine: alternative candidate chains on forks of a
/// sequence's cache, verified in the same forward call.
extension SpeculativeDecodingTests {
    func testGreedyLookupWithThreeDraftsIsIdenticalToPlainForTenPrompts() async throws {
        let total = try await assertIdenticalToPlain(.lookup, drafts: 3)
        XCTAssertGreaterThan(total.acceptedTokens, 50, "\(total)")
    }

    func testGreedyEarlyExitWithThreeDraftsIsIdenticalToPlainAndAcceptsMoreThanOne() async throws {
        let early: (LlamaModel, BPETokenizer) throws -> [any Drafter] = { model, _ in [ModelDrafter(earlyExitOf: model, layers: 8, kvTokens: 8192)] }
        let one = try await assertIdenticalToPlain(.earlyExit, drafters: early)
        let three = try await assertIdenticalToPlain(.earlyExit, drafts: 3, drafters: early)
        // The second and third most likely first drafts catch some of the first's misses.
        XCTAssertGreaterThan(three.acceptanceRate, one.acceptanceRate, "one draft \(one), three \(three)")
    }

    /// Sampled output with speculation follows the target distribution: the second generated
    /// token (the first one a verification decides) over 300 seeds, plain against early-exit
    /// speculation with one and with three drafts, by a chi-square test of homogeneity at
    /// α = 0.001 over the tokens seen at least 5 times in all (the rest pooled).
    func testSampledTokensWithOneAndThreeDraftsFollowThePlainDistribution() async throws {
        let (model, tokenizer) = Self.loaded!
        let engine = DecodeEngine(model: model, tokenizer: tokenizer,
                                  configuration: .init(kvTokens: 16_384, speculation: SpeculationPolicy(maxBatchToSpeculate: 1000)),
                                  drafters: [ModelDrafter(earlyExitOf: model, layers: 8, kvTokens: 16_384)])
        defer { engine.shutdown() }
        let prompt = tokenizer.encode("The colour of the sea is", parseSpecial: false)
        func secondTokens(_ speculation: SpeculationSettings?) async -> [Int32] {
            var out: [Int32] = []
            for batch in 0..<3 {
                let streams = (0..<100).map { i in
                    engine.submit(DecodeRequest(prompt: prompt, maxTokens: 3, speculation: speculation),
                                  sampling: SamplingParameters(temperature: 1, topK: 6, seed: UInt64(batch * 100 + i))).events
                }
                for events in streams {
                    var ids: [Int32] = []
                    for await event in events { if case .token(_, let token, _) = event { ids.append(token) } }
                    out.append(ids.count >= 2 ? ids[1] : -1)
                }
            }
            return out
        }
        let plain = await secondTokens(nil)
        for drafts in [1, 3] {
            let speculative = await secondTokens(SpeculationSettings(method: .earlyExit, draftTokens: 1, drafts: drafts))
            XCTAssertFalse(speculative.contains(-1))
            let statistic = Self.chiSquareHomogeneity(plain, speculative)
            let critical = try XCTUnwrap(Self.chiSquareCritical[statistic.degreesOfFreedom], "\(statistic.degreesOfFreedom) degrees of freedom")
            XCTAssertLessThan(statistic.value, critical,
                              "\(drafts) drafts: χ² \(statistic) (plain \(Self.histogram(plain)), speculative \(Self.histogram(speculative)))")
        }
        XCTAssertGreaterThan(engine.snapshot.speculation.verifications, 0)
    }

    /// Chi-square critical values at α = 0.001 by degrees of freedom.
    static let chiSquareCritical: [Int: Double] = [
        1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877, 10: 29.588,
        11: 31.264, 12: 32.909, 13: 34.528, 14: 36.123, 15: 37.697, 16: 39.252, 17: 40.790, 18: 42.312, 19: 43.820, 20: 45.315,
        21: 46.797, 22: 48.268, 23: 49.728, 24: 51.179, 25: 52.620, 26: 54.052, 27: 55.476, 28: 56.892, 29: 58.301, 30: 59.703,
    ]

    static func histogram(_ tokens: [Int32]) -> [Int32: Int] { tokens.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

    /// Pearson's statistic for two samples over the same categories.
    static func chiSquareHomogeneity(_ a: [Int32], _ b: [Int32]) -> (value: Double, degreesOfFreedom: Int) {
        let ha = histogram(a), hb = histogram(b)
        var rows: [(Double, Double)] = []
        var pooled = (0.0, 0.0)
        for token in Set(ha.keys).union(hb.keys) {
            let x = Double(ha[token] ?? 0), y = Double(hb[token] ?? 0)
            if x + y >= 5 { rows.append((x, y)) } else { pooled.0 += x; pooled.1 += y }
        }
        if pooled.0 + pooled.1 > 0 { rows.append(pooled) }
        let na = Double(a.count), nb = Double(b.count)
        var value = 0.0
        for (x, y) in rows {
            let total = x + y
            let ea = total * na / (na + nb), eb = total * nb / (na + nb)
            value += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb
        }
        return (value, max(rows.count - 1, 1))
    }
}
