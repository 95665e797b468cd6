import Foundation
@testable import TandemModel
import XCTest

/// The generation loop on the tiny random-weight model, with a 64-token byte-level vocabulary.
final class LocalGeneratorTests: XCTestCase {
    var path: String!
    var generator: LocalGenerator!

    override func setUpWithError() throws {
        path = try TinyModel.write(seed: 11)
        let model = try LlamaModel(path: path, threads: 2)
        // Tokens are the bytes "a"…; id 0 is a control token standing for end of generation.
        var tokens = ["<|end|>"]
        tokens += (1..<64).map { String(ByteEncoder.byteToScalar[Int(UInt8(ascii: "A")) + $0]) }
        let types: [BPETokenizer.TokenType] = [.control] + Array(repeating: .normal, count: 63)
        let tokenizer = try BPETokenizer(tokens: tokens, types: types, merges: [], preTokenizer: .gpt2,
                                         bosID: nil, eosID: 0, addBOS: false)
        generator = LocalGenerator(model: model, tokenizer: tokenizer)
    }

    override func tearDown() {
        generator = nil
        try? FileManager.default.removeItem(atPath: path)
    }

    func run(_ sampling: SamplingParameters, maxTokens: Int = 12, stops: [String] = []) throws -> (tokens: [Int32], text: String, finish: LocalGenerator.FinishReason) {
        var text = ""
        let r = try generator.generate(prompt: [5, 9, 14, 3], maxTokens: maxTokens, sampling: sampling, stops: stops, logprobs: 3) { step in
            XCTAssertEqual(step.topLogprobs.count, 3)
            text += step.text
        }
        return (r.tokens, text + r.tail, r.finish)
    }

    func testSeededSamplingIsReproducibleAndGreedyIsDeterministic() throws {
        let sampled = SamplingParameters(temperature: 1.2, topK: 20, seed: 99)
        let a = try run(sampled), b = try run(sampled)
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(try run(.greedy).tokens, try run(.greedy).tokens)
        var other = sampled
        other.seed = 100
        let c = try run(other)
        XCTAssertTrue(c.tokens != a.tokens || c.finish != a.finish || a.tokens.count < 3)
    }

    func testMaxTokensAndStopStrings() throws {
        let r = try run(.greedy, maxTokens: 5)
        XCTAssertLessThanOrEqual(r.tokens.count, 5)
        if r.finish == .length { XCTAssertEqual(r.tokens.count, 5) }
        // Stop at whatever the greedy run produced second: the text ends before it.
        let full = try run(.greedy, maxTokens: 12)
        XCTAssertGreaterThanOrEqual(full.text.count, 3)
        let stop = String(Array(full.text)[1...2])
        let stopped = try run(.greedy, maxTokens: 12, stops: [stop])
        XCTAssertEqual(stopped.finish, .stop)
        XCTAssertFalse(stopped.text.contains(stop))
        XCTAssertTrue(full.text.hasPrefix(stopped.text))
    }
}
