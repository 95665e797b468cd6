import ArgumentParser
import Foundation
import TandemStack

/// `tandem db start [--dir PATH]`: initialize the cluster if needed and start it; prints its URL.
struct DatabaseStartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start the private PostgreSQL cluster (initializing it on first use); print its URL.")

    @OptionGroup var options: ClusterDirectoryOptions

    func run() throws {
        let cluster = try PostgresCluster(directory: URL(fileURLWithPath: options.directory))
        try cluster.start()
        print(try cluster.url())
    }
}
