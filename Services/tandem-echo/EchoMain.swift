import ArgumentParser
import TandemEcho
import TandemService

/// `tandem-echo`: a worker of the `echo` service.
@main
struct EchoMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tandem-echo", abstract: "Echo worker: streams its input back (tests, demos, router benchmarks).")

    @OptionGroup var options: WorkerOptions

    func run() async throws {
        try await options.runWorker(service: "echo", defaultCapacity: 64, handler: EchoHandler())
    }
}
