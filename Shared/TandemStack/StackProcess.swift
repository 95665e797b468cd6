import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One process a local stack started, as recorded in `.tandem/pids/NAME.pid`.
///
/// `name` is `router` or `SERVICE.INDEX` (`echo.1`). The pid file holds the pid and the executable
/// path; a process counts as alive only if that pid still runs that executable, so a reused pid is
/// never mistaken for (or killed as) ours.
public struct StackProcess: Sendable, Equatable {
    public var name: String
    public var pid: pid_t
    public var executable: String

    public var service: String? {
        guard name != "router", let dot = name.lastIndex(of: ".") else { return nil }
        return String(name[..<dot])
    }

    public var index: Int? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        return Int(name[name.index(after: dot)...])
    }

    /// Starts `executable` in a new session (it outlives `tandem` and its terminal), output appended to `log`.
    static func start(name: String, executable: String, arguments: [String], log: URL) throws -> StackProcess {
        let pid = try ChildProcess.spawn(executable, arguments, outputPath: log.path, newSession: true)
        return StackProcess(name: name, pid: pid, executable: executable)
    }

    public var isAlive: Bool {
        // A zombie child of this very process has an empty cmdline: reap it and call it dead.
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        guard let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        // The program itself, or a script's path after its interpreter (`/bin/sh /…/tandem-echo`).
        let words = commandLine.split(separator: 0).prefix(2).map { String(decoding: $0, as: UTF8.self) }
        return words.contains { $0 == executable || ($0 as NSString).lastPathComponent == (executable as NSString).lastPathComponent }
    }

    /// SIGTERM to each, then waits up to `graceSeconds` for all, then SIGKILL to those left.
    static func stop(_ processes: [StackProcess], graceSeconds: Double) {
        let alive = processes.filter(\.isAlive)
        for process in alive { kill(process.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(graceSeconds)
        var remaining = alive
        while !remaining.isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            remaining = remaining.filter(\.isAlive)
        }
        for process in remaining { kill(process.pid, SIGKILL) }
        while !remaining.isEmpty {
            Thread.sleep(forTimeInterval: 0.02)
            remaining = remaining.filter(\.isAlive)
        }
        // A process that has let go of its command line may still be exiting (and, as this
        // process's child, waiting to be reaped): wait, briefly, until its pid is gone, so that
        // whoever runs next finds its ports and files free.
        let gone = Date().addingTimeInterval(2)
        for process in alive {
            var status: Int32 = 0
            while kill(process.pid, 0) == 0 && Date() < gone {
                _ = waitpid(process.pid, &status, WNOHANG)
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    // MARK: - Pid files

    func record(in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "\(pid)\n\(executable)\n".write(to: Self.file(name, in: directory), atomically: true, encoding: .utf8)
    }

    func forget(in directory: URL) {
        try? FileManager.default.removeItem(at: Self.file(name, in: directory))
    }

    /// Every recorded process, alive or not.
    static func recorded(in directory: URL) -> [StackProcess] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".pid") }.sorted().compactMap { file in
            let name = String(file.dropLast(4))
            guard let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else { return nil }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.count >= 2, let pid = pid_t(lines[0]) else { return nil }
            return StackProcess(name: name, pid: pid, executable: lines[1])
        }
    }

    private static func file(_ name: String, in directory: URL) -> URL {
        directory.appendingPathComponent("\(name).pid")
    }
}
