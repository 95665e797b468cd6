import ArgumentParser

/// `tandem`: submit and watch jobs, run a local stack, pull models, benchmark.
public struct TandemCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem inference fabric: jobs, stacks, models and benchmarks.",
        version: "0.1.0",
        subcommands: [ModelsCommand.self, GenerateCommand.self, TokenizeCommand.self, BenchCommand.self]
    )

    public init() {}
}
