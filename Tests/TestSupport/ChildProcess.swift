import Foundation
import Glibc

/// A real child process of a test (router, worker, CLI), with its output in a log file.
///
/// Tests must `stop()` every child in `tearDown` (or a `defer`), even when they fail, so no
/// process outlives its test; `deinit` kills as a last resort.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let logFile: URL
    private let process = Process()

    public init(_ executable: URL, _ arguments: [String], name: String? = nil, environment: [String: String] = [:]) throws {
        self.name = name ?? executable.lastPathComponent
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-test-\(self.name)-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// `kill -9`: no chance to clean up, as in a crash.
    public func kill9() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds. Returns the exit status.
    @discardableResult
    public func terminate(grace: TimeInterval = 10) -> Int32 {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits for the process to exit by itself; returns nil on timeout.
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}

extension ChildProcess {
    /// Stops `children` newest first (SIGTERM, then SIGKILL after `grace`) and empties the list;
    /// with `printingLogs` (a failed test), prints the tail of each one's log first.
    public static func stopAll(_ children: inout [ChildProcess], printingLogs: Bool, grace: TimeInterval = 5) {
        for child in children.reversed() { child.terminate(grace: grace) }
        if printingLogs {
            for child in children { print("---- \(child.name) log ----\n\(child.log.suffix(4000))") }
        }
        children.removeAll()
    }
}
