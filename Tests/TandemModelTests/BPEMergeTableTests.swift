@testable import TandemModel
import XCTest

/// The tokenizer's compact tables answer exactly what the plain structures would.
final class BPEMergeTableTests: XCTestCase {
    func testMergeLookupsEqualADictionaryOfThePairs() {
        var state: UInt64 = 42
        func next(_ n: Int32) -> Int32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32(truncatingIfNeeded: state >> 33) % n
        }
        let vocabulary: Int32 = 300
        // Skewed lefts (one token starts many merges, as "Ġ" does), repeats, and invalid ids.
        let pairs = (0..<2000).map { i -> (left: Int32, right: Int32, merged: Int32) in
            i % 97 == 0 ? (-1, 5, 7) : (i % 3 == 0 ? 7 : next(vocabulary), next(vocabulary), next(vocabulary))
        }
        let table = BPEMergeTable(pairs: pairs, vocabularySize: Int(vocabulary))
        var expected: [UInt64: BPEMergeTable.Merge] = [:]
        for (rank, p) in pairs.enumerated() where p.left >= 0 {
            let key = UInt64(UInt32(p.left)) << 32 | UInt64(UInt32(p.right))
            if expected[key] == nil { expected[key] = .init(rank: Int32(rank), merged: p.merged) }
        }
        XCTAssertEqual(table.count, expected.count)
        for left in Int32(-1)...vocabulary {
            for right in Int32(-1)...vocabulary {
                let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
                XCTAssertEqual(table.merge(left, right), left < 0 || right < 0 ? nil : expected[key], "(\(left), \(right))")
            }
        }
    }

    func testTokenTextsKeepEveryText() {
        let texts = ["", "a", "Ġthe", "ĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠĠ", "<|im_start|>", "日本語", "🙂"]
        let table = TokenTexts(texts)
        XCTAssertEqual(Array(table), texts)
        XCTAssertEqual(table.count, texts.count)
        XCTAssertEqual(Array(table.utf8Bytes(5)), Array("日本語".utf8))
    }
}
