import ArgumentParser
import Foundation

/// `tandem workers`: every registered worker.
struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workers", abstract: "List the workers registered with the router.")

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        let answer = try router.connect().query(.workers) as? [String: Any]
        let workers = answer?["workers"] as? [[String: Any]] ?? []
        if json { return JSONOutput.print(workers) }
        JSONOutput.table(workers, columns: [
            ("service", "service"), ("name", "name"), ("capacity", "capacity"), ("running", "running"),
            ("completed", "done"), ("draining", "draining"), ("last_heard_ms", "heard ms ago"), ("endpoint", "data endpoint"),
        ])
    }
}
