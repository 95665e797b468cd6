/// How the router routes generations (`generate` jobs of the `decode` service): it profiles each
/// prompt when it is submitted (tokenizing it needs the model's tokenizer, which the router
/// executable loads; the router library stays free of the model), then `GenerateRoutePlanner`
/// picks the decode worker and the prompt's placement at dispatch.
public struct GenerateRouting: Sendable {
    public var kind: String
    public var service: String
    public var prefillService: String
    public var policy: GenerateRoutePlanner.Policy
    /// The prompt's profile from a job's params (JSON text), or nil when they cannot be read —
    /// the job is then routed by load alone and its worker reports the params' error.
    public var profile: @Sendable (String) -> PromptProfile?

    public init(kind: String = "generate", service: String = "decode", prefillService: String = "prefill",
                policy: GenerateRoutePlanner.Policy = .init(), profile: @escaping @Sendable (String) -> PromptProfile?) {
        self.kind = kind
        self.service = service
        self.prefillService = prefillService
        self.policy = policy
        self.profile = profile
    }
}
