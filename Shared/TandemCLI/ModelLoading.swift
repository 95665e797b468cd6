import ArgumentParser
import TandemModel

/// Opens the model a command names, turning a missing file into one line naming the command
/// that fetches it.
enum ModelLoading {
    static func resolve(_ model: String) throws -> String {
        do {
            return try ModelStore().resolve(model)
        } catch let error as ModelStoreError {
            throw ModelCommandError(error.description)
        }
    }

    static func tokenizer(_ model: String) throws -> BPETokenizer {
        try BPETokenizer(file: try GGUFFile(path: try resolve(model)))
    }
}

/// A one-line failure of a model command (ArgumentParser prints it without the usage text).
struct ModelCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
