import ArgumentParser
import TandemStack

/// `tandem down`: stop services, the router, then the private PostgreSQL cluster.
struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop the local stack: services, the router, then PostgreSQL.")

    @Option(help: "Seconds to wait after SIGTERM before SIGKILL.")
    var graceSeconds: Double = 10

    func run() throws {
        let outcome = try StackLocation.current().down(graceSeconds: graceSeconds)
        let names = outcome.stoppedProcesses.map(\.name) + (outcome.stoppedPrivateCluster ? ["postgres"] : [])
        print(names.isEmpty ? "nothing was running" : "stopped \(names.joined(separator: ", "))")
    }
}
