/// The ODE solvers Tandem samples with, named as the CLI names them.
public enum SolverKind: String, Sendable, CaseIterable {
    case ddim
    case euler
    case dpmpp2m = "dpmpp-2m"
    case dpmpp3m = "dpmpp-3m"
    /// DPM-Solver++ 2M on Karras et al.'s σ spacing (diffusers' `use_karras_sigmas=True`).
    case dpmpp2mKarras = "dpmpp-2m-karras"
    case unipc
    case deis

    /// Order of the multistep method (how many past model outputs a step combines).
    public var order: Int {
        switch self {
        case .ddim, .euler: 1
        case .dpmpp2m, .dpmpp2mKarras, .unipc: 2
        case .dpmpp3m, .deis: 3
        }
    }
}
