import ArgumentParser
import Foundation
import TandemClient
import TandemWire

/// `tandem submit KIND --params JSON`: queue a job; with `--wait`, stream it to its end.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a job of any kind.")

    @Argument(help: "The job kind (echo, generate, render …).")
    var kind: String

    @Option(name: .long, help: "Parameters as a JSON object.")
    var params: String = "{}"

    @Option(name: .long, help: "Higher runs first.")
    var priority: Int32 = 0

    @Option(name: .customLong("max-attempts"), help: "Dispatch attempts before the job fails (router default 3).")
    var maxAttempts: Int32?

    @Flag(name: .long, help: "Stream partial results and wait for the final one.")
    var wait = false

    @Flag(name: .long, help: "Print JSON lines instead of text.")
    var json = false

    @OptionGroup var router: RouterOptions

    func run() throws {
        let client = try router.connect()
        let job = try client.submit(kind: kind, params: params, priority: priority, maxAttempts: maxAttempts, stream: wait)
        guard wait else {
            print(json ? JSONOutput.compact(["job": job.uuidString]) : job.uuidString)
            return
        }
        if !json { FileHandle.standardError.write(Data("job \(job.uuidString)\n".utf8)) }
        let final = try client.follow(job) { partial in
            print(json ? JSONOutput.compact(["job": job.uuidString, "seq": partial.seq, "data": partial.data.map(jsonValue) ?? NSNull()]) : partial.data ?? "")
        }
        try FinalReport.print(final, json: json)
    }
}

/// Prints a FINAL and turns a job that did not succeed into a non-zero exit.
enum FinalReport {
    static func print(_ final: ClientReply.Final, json: Bool) throws {
        if json {
            var object: [String: Any] = ["job": final.job.uuidString, "state": final.state]
            if let result = final.result { object["result"] = jsonValue(result) }
            if let code = final.code { object["code"] = code }
            if let error = final.error { object["error"] = error }
            if let blob = final.blobs.first { object["result_bytes"] = blob.count }
            Swift.print(JSONOutput.compact(object))
        } else if final.state == "succeeded" {
            Swift.print(final.result ?? "(no result)")
        }
        if final.state != "succeeded" {
            throw CLIError("job \(final.job.uuidString) \(final.state): \(final.code ?? "")\(final.error.map { " \($0)" } ?? "")")
        }
    }
}

func jsonValue(_ text: String) -> Any {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
}
