import Foundation
import TandemModel
import XCTest

/// Golden fixtures made by tools/make_model_fixtures.py with llama.cpp, and the real model file.
enum ReferenceFixtures {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

    /// The pulled model, or a skip naming the command that fetches it (`make test` pulls it first).
    static func modelPath() throws -> String {
        let dir = ProcessInfo.processInfo.environment["TANDEM_MODELS_DIR"] ?? repositoryRoot.appendingPathComponent("models").path
        let path = ModelStore(directory: dir).path(of: ModelCatalog.smolLM2)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("model not pulled: run `tandem models pull smollm2-135m` (make test does)")
        }
        return path
    }

    static func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = testsDirectory.appendingPathComponent("Fixtures/\(name)")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    struct Tokenization: Decodable {
        struct Case: Decodable { var text: String; var special: Bool; var ids: [Int32] }
        var reference: String
        var cases: [Case]
    }

    struct Logits: Decodable {
        struct Position: Decodable {
            var top_ids: [Int]
            var top_logits: [Float]
            var sampled_logits: [Float]
        }
        struct Case: Decodable { var prompt_ids: [Int32]; var subsample_stride: Int; var positions: [Position] }
        var reference: String
        var cases: [Case]
    }

    struct Greedy: Decodable {
        struct Case: Decodable { var prompt: String; var prompt_ids: [Int32]; var tokens: [Int32]; var top2_gaps: [Float] }
        var reference: String
        var steps: Int
        var cases: [Case]
    }
}
