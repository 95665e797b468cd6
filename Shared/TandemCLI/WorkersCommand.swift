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
        let rows = workers.map { row -> [String: Any] in
            var row = row
            if let methods = row["draft_methods"] as? [String] { row["draft_methods"] = methods.joined(separator: ",") }
            if let busy = row["draft_busy"] as? Double { row["draft_busy"] = String(format: "%.0f %%", busy * 100) }
            return row
        }
        JSONOutput.table(rows, columns: [
            ("service", "service"), ("name", "name"), ("capacity", "capacity"), ("running", "running"),
            ("completed", "done"), ("draining", "draining"), ("last_heard_ms", "heard ms ago"), ("endpoint", "data endpoint"),
            ("draft_methods", "drafts with"), ("draft_busy", "busy"),
        ])
    }
}
