import ArgumentParser
import Foundation
import TandemStack

/// `tandem up`: PostgreSQL (private unless `TANDEM_DATABASE_URL` is set), the router and one of each service.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local stack: PostgreSQL, the router and one process of every service built.",
        discussion: "Uses TANDEM_DATABASE_URL when set, else a private cluster under .tandem/postgres. "
            + "Logs go to .tandem/logs/, pids to .tandem/pids/.")

    @Option(help: "Where clients connect to the router.")
    var clients: String = "tcp://127.0.0.1:5555"

    @Option(help: "Where workers connect to the router.")
    var workers: String = "tcp://127.0.0.1:5556"

    @Option(help: "PostgreSQL schema of the job store (the router's default when omitted).")
    var schema: String?

    func run() throws {
        let stack = StackLocation.current()
        let databaseURL = ProcessInfo.processInfo.environment["TANDEM_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let options = LocalStack.UpOptions(clientEndpoint: clients, workerEndpoint: workers, databaseURL: databaseURL, schema: schema)
        switch try stack.up(options) {
        case .alreadyRunning(let processes):
            print("the stack is already running (\(processes.map(\.name).joined(separator: ", "))); nothing started")
        case .started(let processes, let settings):
            print("database: \(settings.databaseURL)\(settings.usesPrivateCluster ? " (private cluster)" : "")")
            for process in processes { print("started \(process.name) (pid \(process.pid))") }
            // A process that dies at once (bad flags, port taken) should be said here, not discovered later.
            Thread.sleep(forTimeInterval: 0.5)
            for process in processes where !process.isAlive {
                print("warning: \(process.name) exited at once; see \(stack.paths.logs.appendingPathComponent("\(process.name).log").path)")
            }
            print("clients: \(settings.clientEndpoint)  workers: \(settings.workerEndpoint)  logs: \(stack.paths.logs.path)")
        }
    }
}
