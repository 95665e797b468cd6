import ArgumentParser
import Foundation

/// `tandem wait ID`: follow a job to its end (or print its result if it has ended).
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Wait for a job to finish, streaming what it produces from now on.")

    @Argument(help: "The job id.")
    var job: String

    @Flag(name: .long, help: "Print JSON lines.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        guard let id = UUID(uuidString: job) else { throw CLIError("not a job id: \(job)") }
        let client = try router.connect()
        let final = try client.watch(id) ?? client.follow(id) { partial in
            print(json ? JSONOutput.compact(["job": id.uuidString, "seq": partial.seq, "data": partial.data.map(jsonValue) ?? NSNull()]) : partial.data ?? "")
        }
        try FinalReport.print(final, json: json)
    }
}
