import ArgumentParser
import Foundation
import TandemModel

/// `tandem tokenize [--special] [--json] FILE|-`: prints the token ids of a text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a file (or - for standard input).")

    @Argument(help: "File to tokenize, or - for standard input.") var input: String
    @Flag(help: "Recognise special tokens such as <|im_start|> in the text.") var special = false
    @Flag(help: "Print JSON: {\"ids\": [...], \"pieces\": [...]}.") var json = false
    @Option(help: "Model name or GGUF path.") var model = ModelCatalog.defaultModel.name

    func run() throws {
        let data = input == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: input))
        let text = String(decoding: data, as: UTF8.self)
        let tokenizer = try ModelLoading.tokenizer(model)
        let ids = tokenizer.encode(text, parseSpecial: special)
        if json {
            let pieces = ids.map { tokenizer.decode([$0], special: true) }
            let object: [String: Any] = ["ids": ids.map(Int.init), "pieces": pieces]
            let out = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: out, as: UTF8.self))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
