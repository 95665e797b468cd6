import ArgumentParser
import Foundation
import TandemStack

/// `tandem db stop [--dir PATH]`: stop the cluster if it runs.
struct DatabaseStopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the private PostgreSQL cluster.")

    @OptionGroup var options: ClusterDirectoryOptions

    func run() throws {
        try PostgresCluster(directory: URL(fileURLWithPath: options.directory)).stop()
    }
}
