import ArgumentParser
import Foundation

/// `tandem job ID`: one job with its timeline from the job store.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "job", abstract: "Show a job and its timeline.")

    @Argument(help: "The job id.")
    var job: String

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        guard let id = UUID(uuidString: job) else { throw CLIError("not a job id: \(job)") }
        guard let answer = try router.connect().query(.job(id)) as? [String: Any] else { throw CLIError("malformed answer") }
        if json { return JSONOutput.print(answer) }
        for key in ["id", "kind", "service", "state", "priority", "attempts", "max_attempts", "worker", "created_at",
                    "started_at", "finished_at", "params", "result", "result_bytes", "error_code", "error"] where answer[key] != nil {
            print("\(key.padding(toLength: 13, withPad: " ", startingAt: 0)) \(JSONOutput.cell(answer[key]))")
        }
        let outputs = answer["outputs"] as? [Any] ?? []
        print("outputs       \(outputs.count)")
        print("timeline:")
        for event in answer["events"] as? [[String: Any]] ?? [] {
            let detail = event["detail"].map { " " + JSONOutput.cell($0) } ?? ""
            let worker = event["worker"].map { " on " + JSONOutput.cell($0) } ?? ""
            print("  \(JSONOutput.cell(event["at"]))  \(JSONOutput.cell(event["kind"]))\(worker)\(detail)")
        }
    }
}
