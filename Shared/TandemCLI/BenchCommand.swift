import ArgumentParser

/// `tandem bench …`: benchmarks (commands, not timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchModelCommand.self])
}
