import Foundation

/// A `tandem-router` child process on 127.0.0.1 ports the kernel picked, reading its bound
/// endpoints from the file it writes once listening.
public final class LocalRouter {
    public let process: ChildProcess
    public let clientEndpoint: String
    public let workerEndpoint: String

    /// Starts a router on `clients`/`workers` (default: any free port) for the schema given.
    public init(databaseURL: String, schema: String, clients: String = "tcp://127.0.0.1:*", workers: String = "tcp://127.0.0.1:*",
                extraArguments: [String] = []) throws {
        let readyFile = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-router-\(UUID().uuidString).json")
        process = try ChildProcess(BuiltExecutables.url("tandem-router"), [
            "--database-url", databaseURL, "--schema", schema, "--clients", clients, "--workers", workers,
            "--ready-file", readyFile.path, "--log-level", "debug",
        ] + extraArguments, name: "router")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let data = try? Data(contentsOf: readyFile),
               let endpoints = try? JSONSerialization.jsonObject(with: data) as? [String: String],
               let client = endpoints["clients"], let worker = endpoints["workers"] {
                try? FileManager.default.removeItem(at: readyFile)
                clientEndpoint = client
                workerEndpoint = worker
                return
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.kill9()
        throw TestSupportError("router did not come up; its log:\n\(process.log)")
    }

    /// Starts a worker of this router (`tandem-echo` by default) with a short heartbeat.
    public func startWorker(_ executable: String = "tandem-echo", capacity: Int, heartbeatMilliseconds: Int = 200,
                            name: String? = nil, extraArguments: [String] = []) throws -> ChildProcess {
        var arguments = ["--router", workerEndpoint, "--capacity", "\(capacity)", "--heartbeat-ms", "\(heartbeatMilliseconds)",
                         "--shutdown-grace-ms", "500"]
        if let name { arguments += ["--name", name] }
        return try ChildProcess(BuiltExecutables.url(executable), arguments + extraArguments, name: name ?? executable)
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
