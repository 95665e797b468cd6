@testable import TandemModel
import XCTest

final class SamplerTests: XCTestCase {
    let logits: [Float] = [1, 3, 2.5, -1, 0, 2.9]

    func testGreedyAndTopKOne() {
        XCTAssertEqual(Sampler.sample(logits: logits, history: [], parameters: .greedy, position: 0), 1)
        let p = SamplingParameters(temperature: 1.5, topK: 1, seed: 3)
        for pos in 0..<20 { XCTAssertEqual(Sampler.sample(logits: logits, history: [], parameters: p, position: pos), 1) }
    }

    func testPartialTopSelectionEqualsAFullSort() {
        // Many ties (logits on a coarse grid), so the lower-index tie-break is exercised.
        let logits = (0..<5000).map { Float(CounterRNG.bits(seed: 7, position: $0) % 200) / 8 }
        let sorted = Array(logits.indices).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        for count in [1, 2, 3, 8, 40, 64, 65, 5000, 6000] {
            XCTAssertEqual(Sampler.top(count, of: logits), Array(sorted.prefix(count)), "top \(count)")
        }
        XCTAssertEqual(Sampler.mostLikely(logits: logits, history: [], parameters: .greedy, count: 3).map(Int.init), Array(sorted.prefix(3)))
        XCTAssertEqual(Sampler.mostLikely(logits: logits, history: [], parameters: .greedy, count: 1)[0], Sampler.argmax(logits))
    }

    func testDrawsAreKeyedBySeedAndPosition() {
        let p = SamplingParameters(temperature: 1, seed: 42)
        let a = (0..<50).map { Sampler.sample(logits: logits, history: [], parameters: p, position: $0) }
        let b = (0..<50).map { Sampler.sample(logits: logits, history: [], parameters: p, position: $0) }
        XCTAssertEqual(a, b)
        // Resuming at position 30 draws what the original drew there.
        XCTAssertEqual(Sampler.sample(logits: logits, history: [], parameters: p, position: 30), a[30])
        var other = p
        other.seed = 43
        XCTAssertNotEqual((0..<50).map { Sampler.sample(logits: logits, history: [], parameters: other, position: $0) }, a)
        XCTAssertEqual(CounterRNG.uniform(seed: 1, position: 5), CounterRNG.uniform(seed: 1, position: 5))
    }

    func testTopPAndMinPRestrictTheCandidates() {
        let topP = SamplingParameters(temperature: 1, topP: 0.5, seed: 1)
        let minP = SamplingParameters(temperature: 1, minP: 0.8, seed: 1)
        for pos in 0..<200 {
            XCTAssertTrue([1, 5].contains(Sampler.sample(logits: logits, history: [], parameters: topP, position: pos)))
            XCTAssertTrue([1, 5].contains(Sampler.sample(logits: logits, history: [], parameters: minP, position: pos)))
        }
        // Frequencies follow the softmax at temperature 1.
        let all = SamplingParameters(temperature: 1, seed: 9)
        var counts = [Int](repeating: 0, count: logits.count)
        for pos in 0..<20_000 { counts[Int(Sampler.sample(logits: logits, history: [], parameters: all, position: pos))] += 1 }
        let z = logits.map { exp(Double($0)) }.reduce(0, +)
        for i in logits.indices { XCTAssertEqual(Double(counts[i]) / 20_000, exp(Double(logits[i])) / z, accuracy: 0.015) }
    }

    func testRepetitionPenalty() {
        let p = SamplingParameters(repetitionPenalty: 2)
        XCTAssertEqual(Sampler.sample(logits: logits, history: [1], parameters: p, position: 0), 5)
        XCTAssertEqual(Sampler.sample(logits: logits, history: [1, 5], parameters: p, position: 0), 2)
    }

    func testTopLogprobs() {
        let top = Sampler.topLogprobs(logits, k: 2)
        XCTAssertEqual(top.map(\.token), [1, 5])
        let z = logits.map { exp(Double($0)) }.reduce(0, +)
        XCTAssertEqual(Double(top[0].logprob), 3 - log(z), accuracy: 1e-5)
    }

    func testStopStrings() {
        var m = StopStringMatcher(stops: ["</s>", "\n\n"])
        XCTAssertEqual(m.feed("Hello <").emit, "Hello ")
        XCTAssertEqual(m.feed("/b").emit, "</b")
        XCTAssertEqual(m.feed("ye</").emit, "ye")
        let r = m.feed("s>tail")
        XCTAssertEqual(r.emit, "")
        XCTAssertTrue(r.stopped)
        var n = StopStringMatcher(stops: ["\n\n"])
        XCTAssertEqual(n.feed("a\n").emit, "a")
        XCTAssertEqual(n.finish(), "\n")
    }
}
