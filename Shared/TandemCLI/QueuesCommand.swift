import ArgumentParser
import Foundation

/// `tandem queues [--watch]`: per service, what waits, what runs, who serves it.
struct QueuesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queues", abstract: "Show queue depth, running jobs, workers and throughput per service.")

    @Flag(name: .long, help: "Refresh every second until interrupted.")
    var watch = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        let client = try router.connect()
        repeat {
            let answer = try client.query(.queues) as? [String: Any]
            let queues = answer?["queues"] as? [[String: Any]] ?? []
            if watch, !json { print("\u{1b}[H\u{1b}[2J", terminator: "") }
            if json {
                print(JSONOutput.compact(queues))
            } else {
                let rows = queues.map { row -> [String: Any] in
                    var row = row
                    if let rate = row["acceptance_rate"] as? Double { row["acceptance_rate"] = String(format: "%.0f %%", rate * 100) }
                    if let perStep = row["tokens_per_step"] as? Double { row["tokens_per_step"] = String(format: "%.2f", perStep) }
                    if let busy = row["draft_busy"] as? Double { row["draft_busy"] = String(format: "%.0f %%", busy * 100) }
                    // The draft service's row: the rounds its workers answered (the decode row: those its sequences got).
                    if row["spec_remote_rounds"] == nil, let answered = row["draft_rounds"] { row["spec_remote_rounds"] = answered }
                    return row
                }
                JSONOutput.table(rows, columns: [
                    ("service", "service"), ("queued", "queued"), ("running", "running"), ("workers", "workers"),
                    ("capacity", "capacity"), ("jobs_per_second", "jobs/s"),
                    ("acceptance_rate", "accepted"), ("tokens_per_step", "tok/step"), ("spec_remote_rounds", "draft rounds"),
                    ("draft_sessions", "draft sessions"), ("draft_busy", "draft busy"),
                ])
            }
            if watch { Thread.sleep(forTimeInterval: 1) }
        } while watch
    }
}
