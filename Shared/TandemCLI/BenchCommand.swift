import ArgumentParser

/// `tandem bench …`: benchmarks (commands, not timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchRouterCommand.self, BenchModelCommand.self, BenchGenerateCommand.self, BenchRenderCommand.self, BenchDraftWireCommand.self])
}
