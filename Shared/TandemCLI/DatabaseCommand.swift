import ArgumentParser

/// `tandem db`: the private PostgreSQL cluster that `tandem up` and `make test` use.
public struct DatabaseCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Start, stop and locate a private PostgreSQL cluster.",
        subcommands: [DatabaseStartCommand.self, DatabaseStopCommand.self, DatabaseURLCommand.self, DatabaseBenchCommand.self]
    )

    public init() {}
}

/// The `--dir` option the `tandem db` commands share.
struct ClusterDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("dir"), help: "The cluster folder.")
    var directory: String = ".tandem/postgres"
}
