import Foundation

/// Runs a helper program to completion, optionally as another system user (`runuser -u USER --`),
/// and captures what it printed.
struct CommandRunner: Sendable {
    /// The user to run as, or `nil` for the current one.
    var user: String?

    struct Outcome {
        var status: Int32
        var output: String
    }

    struct Failure: Error, CustomStringConvertible {
        var command: [String]
        var outcome: Outcome
        var description: String {
            "\(command.joined(separator: " ")) exited with \(outcome.status): \(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }

    /// Runs `executable` with `arguments` to completion. Output goes through a temporary file, not a
    /// pipe, because `pg_ctl start` leaves a server running that must not hold a pipe of ours open.
    func run(_ executable: URL, _ arguments: [String]) throws -> Outcome {
        let command = user.map { ["/usr/sbin/runuser", "-u", $0, "--", executable.path] } ?? [executable.path]
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tandem-command-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try ChildProcess.spawn(command[0], Array(command.dropFirst()) + arguments, outputPath: outputPath)
        let status = ChildProcess.wait(pid)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Outcome(status: status, output: text)
    }

    /// Like `run`, throwing unless the program exits 0.
    @discardableResult
    func check(_ executable: URL, _ arguments: [String]) throws -> String {
        let outcome = try run(executable, arguments)
        guard outcome.status == 0 else { throw Failure(command: [executable.path] + arguments, outcome: outcome) }
        return outcome.output
    }
}
