/// Where the router decided a generation's prompt is computed (DISPATCH `prefill`, spec section
/// "Routing generations"): on the decode worker it was given to, or on a prefill worker that sends
/// the KV blocks to it.
public enum PrefillPlacement: String, Sendable, Equatable {
    case local
    case remote
}
