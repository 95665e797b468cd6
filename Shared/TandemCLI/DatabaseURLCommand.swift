import ArgumentParser
import Foundation
import TandemStack

/// `tandem db url [--dir PATH]`: print the cluster's connection URL.
struct DatabaseURLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "url", abstract: "Print the private cluster's PostgreSQL URL.")

    @OptionGroup var options: ClusterDirectoryOptions

    func run() throws {
        print(try PostgresCluster(directory: URL(fileURLWithPath: options.directory)).url())
    }
}
