@testable import TandemModel
import XCTest

final class TokenizerTests: XCTestCase {
    func testByteEncoderRoundTrip() {
        XCTAssertEqual(ByteEncoder.byteToScalar[Int(UInt8(ascii: "A"))], "A")
        XCTAssertEqual(ByteEncoder.byteToScalar[32], "Ġ")
        XCTAssertEqual(ByteEncoder.byteToScalar[10], "Ċ")
        let bytes = Array(0...255).map(UInt8.init)
        XCTAssertEqual(ByteEncoder.decode(ByteEncoder.encode(bytes)), bytes)
    }

    func testPreTokenizers() {
        XCTAssertEqual(PreTokenizer.gpt2.split("Hello world's 123  x\n"), ["Hello", " world", "'s", " 123", " ", " x", "\n"])
        XCTAssertEqual(PreTokenizer.smollm.split("in 2024, ok"), ["in", " ", "2", "0", "2", "4", ",", " ok"])
        XCTAssertEqual(PreTokenizer.llamaBPE.split("HELLO'S 12345!!\n\n  x"), ["HELLO", "'S", " ", "123", "45", "!!\n\n", " ", " x"])
        XCTAssertEqual(PreTokenizer.gpt2.split("  "), ["  "])
        XCTAssertEqual(PreTokenizer.gpt2.split("日本語 🎉🎉"), ["日本語", " 🎉🎉"])
    }

    func testTinyVocabularyMergesAndSpecialTokens() throws {
        let tokens = ["<|s|>", "a", "b", "c", "Ġ", "ab", "abc", "Ġa"]
        let types: [BPETokenizer.TokenType] = [.control, .normal, .normal, .normal, .normal, .normal, .normal, .normal]
        let t = try BPETokenizer(tokens: tokens, types: types, merges: ["a b", "ab c", "Ġ a"], preTokenizer: .gpt2,
                                 bosID: 0, eosID: 0, addBOS: false)
        XCTAssertEqual(t.encode("abc ab"), [6, 4, 5], "a·b (rank 0) merges before Ġ·a (rank 2)")
        XCTAssertEqual(t.encode(" ac"), [7, 3])
        XCTAssertEqual(t.encode("a<|s|>b", parseSpecial: true), [1, 0, 2])
        XCTAssertEqual(t.encode("ab", addBOS: true), [0, 5])
        XCTAssertEqual(t.decode([6, 4, 5]), "abc ab")
        XCTAssertEqual(t.decode([0]), "")
        XCTAssertEqual(t.decode([0], special: true), "<|s|>")
    }

    func testStreamingDetokenizerNeverSplitsACharacter() throws {
        // One token per byte of "é🎉".
        let text = "é🎉!"
        let bytes = Array(text.utf8)
        let tokens = bytes.map { String(ByteEncoder.byteToScalar[Int($0)]) }
        let t = try BPETokenizer(tokens: tokens, types: tokens.map { _ in .normal }, merges: [], preTokenizer: .gpt2,
                                 bosID: nil, eosID: nil, addBOS: false)
        var d = StreamingDetokenizer(tokenizer: t)
        var pieces: [String] = []
        for i in bytes.indices { pieces.append(d.append(Int32(i))) }
        XCTAssertEqual(pieces, ["", "é", "", "", "", "🎉", "!"])
        XCTAssertEqual(d.finish(), "")
        // A lone continuation byte cannot become valid: it is emitted (as U+FFFD) at once.
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0x41, 0xF0, 0x9F]), 1)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0x80]), 1)
    }

    func testChatTemplate() throws {
        let jinja = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are nice<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        let template = try XCTUnwrap(ChatTemplate(jinja: jinja))
        XCTAssertEqual(template.defaultSystemPrompt, "You are nice")
        XCTAssertEqual(template.render([.init(role: "user", content: "Hi")]),
                       "<|im_start|>system\nYou are nice<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(template.render([.init(role: "system", content: "S"), .init(role: "user", content: "Hi")], addGenerationPrompt: false),
                       "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        XCTAssertNil(ChatTemplate(jinja: "[INST] {{ x }} [/INST]"))
        let realNewline = jinja.replacingOccurrences(of: "\\n", with: "\n")
        XCTAssertEqual(ChatTemplate(jinja: realNewline)?.defaultSystemPrompt, "You are nice")
    }
}
