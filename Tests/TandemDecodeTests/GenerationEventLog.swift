import TandemDecode
import XCTest

/// What the scheduler tests collect from `DecodeScheduler.update`: per sequence, its generated
/// tokens, its text and how it finished.
struct GenerationEventLog {
    var tokens: [Int: [Int32]] = [:]
    var text: [Int: String] = [:]
    var finish: [Int: FinishReason] = [:]

    /// `checkingOrder`: each token's index must be the count so far (no resumed sequences).
    mutating func record(_ events: [DecodeEvent], checkingOrder: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        for event in events {
            switch event {
            case .token(let id, let index, let token, let t, let f):
                if checkingOrder { XCTAssertEqual(index, tokens[id, default: []].count, "token of sequence \(id) out of order", file: file, line: line) }
                tokens[id, default: []].append(token)
                text[id, default: ""] += t
                if let f { finish[id] = f }
            case .finished(let id, let reason, let t):
                text[id, default: ""] += t
                finish[id] = reason
            }
        }
    }
}
