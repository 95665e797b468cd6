import ArgumentParser
import TandemStack

/// `tandem scale SERVICE=N`: start or stop local processes of a service.
struct ScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Run N local processes of a service (e.g. `tandem scale echo=3`).")

    @Argument(help: "SERVICE=N")
    var assignment: String

    func run() throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let count = Int(parts[1]), count >= 0 else {
            throw ValidationError("expected SERVICE=N with N ≥ 0, got \(assignment)")
        }
        let processes = try StackLocation.current().scale(service: parts[0], to: count)
        print("\(parts[0]): \(processes.count) running (\(processes.map { "\($0.name) pid \($0.pid)" }.joined(separator: ", ")))")
    }
}
