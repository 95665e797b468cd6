/// The ODE solvers Tandem samples with, named as the CLI names them.
public enum SolverKind: String, Sendable, CaseIterable {
    case ddim
    case euler
    case dpmpp2m = "dpmpp-2m"
    case dpmpp3m = "dpmpp-3m"
    case unipc
    case deis

    /// Order of the multistep method (how many past model outputs a step combines).
    public var order: Int {
        switch self {
        case .ddim, .euler: 1
        case .dpmpp2m, .unipc: 2
        case .dpmpp3m, .deis: 3
        }
    }
}
