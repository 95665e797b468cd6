import ArgumentParser
import TandemModel

/// Opens the model a command names, turning a missing file into one line naming the command
/// that fetches it.
enum ModelLoading {
    static func resolve(_ model: String) throws -> String {
        do {
            return try ModelStore().resolve(model)
        } catch let error as ModelStoreError {
            throw ValidationError(error.description)
        }
    }

    static func tokenizer(_ model: String) throws -> BPETokenizer {
        try BPETokenizer(file: try GGUFFile(path: try resolve(model)))
    }
}
