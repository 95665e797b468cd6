import Foundation
import Synchronization
import TandemModel
import TandemService

/// Loads the model and starts the engine on first use, so a decode worker starts (and registers)
/// even before the model is pulled, and fails jobs with the command that fetches it meanwhile.
public final class DecodeEngineProvider: Sendable {
    public struct Settings: Sendable {
        /// A catalog name (`smollm2-135m`, looked up in `models/` or `TANDEM_MODELS_DIR`) or a GGUF path.
        public var model: String
        public var threads: Int
        public var engine: DecodeEngine.Configuration
        /// Layers of the target that draft for `early-exit` speculation (0: no early-exit drafts).
        public var earlyExitLayers: Int
        /// A draft model (name or GGUF path) for `model` speculation; its vocabulary must be the target's.
        public var draftModel: String?
        /// Methods drafted by the draft service (draft workers) when one is live, with the
        /// in-process drafter of the same method, if any, as the fallback.
        public var remoteDraftMethods: Set<DraftMethod>
        public var draftPool: DraftWorkerPool?
        public init(model: String = ModelCatalog.defaultModel.name, threads: Int = 2, engine: DecodeEngine.Configuration = .init(),
                    earlyExitLayers: Int = 0, draftModel: String? = nil, remoteDraftMethods: Set<DraftMethod> = [], draftPool: DraftWorkerPool? = nil) {
            self.model = model; self.threads = threads; self.engine = engine
            self.earlyExitLayers = earlyExitLayers; self.draftModel = draftModel
            self.remoteDraftMethods = remoteDraftMethods; self.draftPool = draftPool
        }
    }

    public let settings: Settings
    private let loaded = Mutex<DecodeEngine?>(nil)

    public init(settings: Settings) { self.settings = settings }

    /// The engine if it is loaded (never waits for a load in progress).
    public var loadedEngine: DecodeEngine? { loaded.withLockIfAvailable { $0 } ?? nil }

    /// The engine, loading the model if this is the first call; a missing model is a
    /// non-retryable failure (another worker would not have it either) whose message names the
    /// command that fetches it. The code is `worker_failed`: the protocol's error codes are a
    /// closed set and the router turns any other code into that one.
    public func engine() throws -> DecodeEngine {
        try loaded.withLock { engine in
            if let engine { return engine }
            let path = try Self.modelPath(settings.model)
            do {
                let file = try GGUFFile(path: path)
                let tokenizer = try BPETokenizer(file: file)
                let model = try LlamaModel(file: file, threads: settings.threads)
                var drafters: [any Drafter] = []
                if settings.earlyExitLayers > 0 {
                    guard settings.earlyExitLayers < model.config.blockCount else {
                        throw DecodeSetupError("--early-exit-layers must be below the model's \(model.config.blockCount) layers")
                    }
                    drafters.append(ModelDrafter(earlyExitOf: model, layers: settings.earlyExitLayers, kvTokens: settings.engine.kvTokens))
                }
                if let draft = settings.draftModel {
                    let draftFile = try GGUFFile(path: try Self.modelPath(draft))
                    drafters.append(try ModelDrafter(draft: try LlamaModel(file: draftFile, threads: settings.threads),
                                                     draftTokenizer: try BPETokenizer(file: draftFile), targetTokenizer: tokenizer,
                                                     kvTokens: settings.engine.kvTokens))
                }
                if let pool = settings.draftPool {
                    let local = [PromptLookupDrafter()] + drafters
                    for method in settings.remoteDraftMethods.sorted(by: { $0.rawValue < $1.rawValue }) {
                        drafters.append(RemoteDrafter(method: method, pool: pool, fallback: local.last { $0.method == method }))
                    }
                }
                let made = DecodeEngine(model: model, tokenizer: tokenizer, configuration: settings.engine, drafters: drafters)
                engine = made
                return made
            } catch {
                throw JobFailure(code: "worker_failed", message: "model unusable: cannot load the model at \(path): \(error)", retryable: false)
            }
        }
    }

    static func modelPath(_ model: String) throws -> String {
        let pull = "tandem models pull \(ModelCatalog.defaultModel.name)"
        do {
            return try ModelStore().resolve(model)
        } catch let error as ModelStoreError {
            if case .unknownModel = error, model.contains("/") || model.hasSuffix(".gguf") {
                throw JobFailure(code: "worker_failed", message: "model missing: the file \(model) does not exist: run `\(pull)`", retryable: false)
            }
            throw JobFailure(code: "worker_failed", message: "model missing: \(error) (the decode worker looks in \(ModelStore().directory)/; run `\(pull)`)", retryable: false)
        }
    }
}
