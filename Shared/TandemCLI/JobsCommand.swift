import ArgumentParser
import Foundation

/// `tandem jobs [--state S] [--limit N]`: the newest jobs.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List jobs, newest first.")

    @Option(name: .long, help: "Only jobs in this state (queued, running, succeeded, failed, cancelled).")
    var state: String?

    @Option(name: .long, help: "At most this many.")
    var limit: Int = 20

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        let answer = try router.connect().query(.jobs(state: state, limit: limit)) as? [String: Any]
        let jobs = answer?["jobs"] as? [[String: Any]] ?? []
        if json { return JSONOutput.print(jobs) }
        JSONOutput.table(jobs, columns: [
            ("id", "id"), ("kind", "kind"), ("state", "state"), ("priority", "prio"), ("attempts", "tries"),
            ("worker", "worker"), ("created_at", "created"), ("error_code", "error"),
        ])
    }
}
