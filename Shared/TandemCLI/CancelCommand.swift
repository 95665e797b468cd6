import ArgumentParser
import Foundation

/// `tandem cancel ID`: stop a job, queued or running; prints the state it ended in.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job.")

    @Argument(help: "The job id.")
    var job: String

    @OptionGroup var router: RouterOptions

    func run() throws {
        guard let id = UUID(uuidString: job) else { throw CLIError("not a job id: \(job)") }
        let answer = try router.connect().cancel(id) as? [String: Any]
        print("\(id.uuidString) \(JSONOutput.cell(answer?["state"]))")
    }
}
