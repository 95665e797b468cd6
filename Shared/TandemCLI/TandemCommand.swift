import ArgumentParser

/// `tandem`: submit and watch jobs, run a local stack, pull models, benchmark.
public struct TandemCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem inference fabric: jobs, stacks, models and benchmarks.",
        version: "0.1.0",
        subcommands: [
            UpCommand.self, DownCommand.self, ScaleCommand.self,
            SubmitCommand.self, JobsCommand.self, JobCommand.self, WaitCommand.self, CancelCommand.self,
            QueuesCommand.self, WorkersCommand.self, GenerateCommand.self, RenderCommand.self, TokenizeCommand.self,
            ModelsCommand.self, BenchCommand.self, DatabaseCommand.self,
        ]
    )

    public init() {}
}
