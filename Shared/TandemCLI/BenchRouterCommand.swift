import ArgumentParser
import Foundation
import TandemClient
import TandemStore
import TandemWire

/// `tandem bench router`: durable jobs per second through a real router, PostgreSQL and no-op
/// workers, beside the same database's single-row INSERT rate.
///
/// It starts its own router and `tandem-echo` workers (the executables beside `tandem`) on free
/// loopback ports, in a fresh schema that it drops afterwards, so a running stack is not disturbed.
struct BenchRouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "router", abstract: "Benchmark the router: durable jobs/s and latencies with no-op workers.")

    @Option(name: .long, help: "Jobs to run (after a warm-up of 10%).")
    var jobs: Int = 20_000

    @Option(name: .long, help: "Jobs in flight at once.")
    var concurrency: Int = 256

    @Option(name: .long, help: "No-op worker processes.")
    var workers: Int = 1

    @Option(name: .long, help: "Capacity of each worker.")
    var capacity: Int = 256

    @Option(name: .customLong("insert-rows"), help: "Single-row INSERTs for the reference rate.")
    var insertRows: Int = 500

    @Option(help: "tcp (loopback) or ipc (Unix sockets) between client, router and workers.")
    var transport = "tcp"

    @Option(name: .customLong("database-url"), help: "PostgreSQL to use (default: TANDEM_DATABASE_URL, else the local stack's cluster).")
    var databaseURL: String?

    func run() throws {
        let url = try DatabaseLocator.url(explicit: databaseURL)
        let schema = "bench_\(UUID().uuidString.prefix(8).lowercased())"
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let readyFile = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bench-\(schema).json")
        var children: [Process] = []
        defer {
            for child in children where child.isRunning { child.terminate() }
            for child in children { child.waitUntilExit() }
            if let connection = try? PostgresConnection(url: url) { _ = try? connection.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        }
        func launch(_ name: String, _ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = binDirectory.appendingPathComponent(name)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append(process)
            return process
        }

        guard transport == "tcp" || transport == "ipc" else { throw CLIError("--transport is tcp or ipc") }
        // `ipc://*` makes ZeroMQ pick a fresh socket path, as port 0 does for tcp.
        let anyEndpoint = transport == "ipc" ? "ipc://*" : "tcp://127.0.0.1:*"
        let router = try launch("tandem-router", ["--database-url", url, "--schema", schema, "--clients", anyEndpoint,
                                          "--workers", anyEndpoint, "--ready-file", readyFile.path, "--log-level", "warning",
                                          "--max-queue", "\(max(100_000, jobs * 2))"])
        let endpoints = try waitForEndpoints(readyFile)
        var echoWorkers: [Process] = []
        for index in 0..<workers {
            echoWorkers.append(try launch("tandem-echo", ["--router", endpoints.workers, "--capacity", "\(capacity)", "--name", "bench-\(index)", "--log-level", "warning"]))
        }
        let client = try RouterClient(configuration: .init(routerEndpoint: endpoints.clients, replyTimeoutMilliseconds: 30_000))
        try waitForWorkers(client, count: workers)

        print("router benchmark: \(jobs) no-op echo jobs, \(concurrency) in flight, \(workers) worker(s) × capacity \(capacity), \(transport), load \(LoadAverage.text)")
        _ = try BenchRouterRun(client: client, jobs: max(1, jobs / 10), concurrency: concurrency).run()
        // The PostgreSQL backends serving the router (its writer and reader connections), to count their CPU too.
        let monitor = try PostgresConnection(url: url, applicationName: "tandem-bench")
        let backends = try monitor.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'tandem %'")
        let backendPids = (0..<backends.rowCount).compactMap { backends.int64(row: $0, column: 0).map(Int32.init) }
        let postgresBefore = backendPids.map(CPUTime.of).reduce(0, +)
        let cpuBefore = (router: CPUTime.of(router.processIdentifier), workers: echoWorkers.map { CPUTime.of($0.processIdentifier) }.reduce(0, +), client: CPUTime.ofSelf())
        let run = try BenchRouterRun(client: client, jobs: jobs, concurrency: concurrency).run()
        let postgresAfter = backendPids.map(CPUTime.of).reduce(0, +)
        let cpuAfter = (router: CPUTime.of(router.processIdentifier), workers: echoWorkers.map { CPUTime.of($0.processIdentifier) }.reduce(0, +), client: CPUTime.ofSelf())

        let store = try JobStore(configuration: StoreConfiguration(databaseURL: url, schema: schema))
        let insertRate = try store.measureSingleRowInsertRate(rows: insertRows)

        func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }
        print(String(format: "accepted and durable   %8.0f jobs/s   (ACCEPTED is sent only after the row is committed)", Double(jobs) / run.lastAccepted))
        print(String(format: "completed end to end   %8.0f jobs/s   (final state committed before FINAL)", Double(jobs) / run.lastFinal))
        print("submit → ACCEPTED      p50 \(ms(run.acceptLatencies.percentile(0.5)))   p99 \(ms(run.acceptLatencies.percentile(0.99)))")
        print("submit → started       p50 \(ms(run.startLatencies.percentile(0.5)))   p99 \(ms(run.startLatencies.percentile(0.99)))   (group commit, then dispatch; 1 job in 16)")
        print("ACCEPTED → started     p50 \(ms(run.acceptedToStart.percentile(0.5)))   p99 \(ms(run.acceptedToStart.percentile(0.99)))   (dispatch latency after the commit; 1 job in 16)")
        print("ACCEPTED → FINAL       p50 \(ms(run.dispatchLatencies.percentile(0.5)))   p99 \(ms(run.dispatchLatencies.percentile(0.99)))   (dispatch, no-op run, final commit)")
        print(String(format: "reference: single-row autocommit INSERT on the same PostgreSQL  %6.0f rows/s   → durable jobs/s is %.1f× that", insertRate, Double(jobs) / run.lastAccepted / insertRate))
        func perJob(_ seconds: Double) -> String { String(format: "%.0f µs", seconds / Double(jobs) * 1e6) }
        print("CPU per job            router \(perJob(cpuAfter.router - cpuBefore.router)) (poll loop + store threads), echo workers \(perJob(cpuAfter.workers - cpuBefore.workers)), this client \(perJob(cpuAfter.client - cpuBefore.client)), PostgreSQL backends \(perJob(postgresAfter - postgresBefore))")
        if run.failed > 0 { throw CLIError("\(run.failed) jobs did not succeed") }
    }

    private func waitForEndpoints(_ file: URL) throws -> (clients: String, workers: String) {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let data = try? Data(contentsOf: file), let object = try? JSONSerialization.jsonObject(with: data) as? [String: String],
               let clients = object["clients"], let workers = object["workers"] {
                try? FileManager.default.removeItem(at: file)
                return (clients, workers)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw CLIError("the benchmark's router did not start")
    }

    private func waitForWorkers(_ client: RouterClient, count: Int) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let answer = try client.query(.workers) as? [String: Any]
            if (answer?["workers"] as? [Any])?.count == count { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CLIError("the benchmark's workers did not register")
    }
}

/// One timed pass: `jobs` submissions with `concurrency` in flight on one client socket.
struct BenchRouterRun {
    let client: RouterClient
    let jobs: Int
    let concurrency: Int

    struct Result {
        var lastAccepted: Double
        var lastFinal: Double
        var acceptLatencies: [Double]
        var dispatchLatencies: [Double]
        /// Submit to the echo handler starting on its worker (wall clock, one host).
        var startLatencies: [Double]
        /// ACCEPTED reaching the client to the handler starting: the dispatch after the commit
        /// (slightly negative when the worker starts before the client hears ACCEPTED).
        var acceptedToStart: [Double]
        var failed: Int
    }

    /// `started_us` from an echo result, found without a JSON parser (this loop is the client's hot path).
    static func startedSeconds(_ result: String?) -> Double? {
        guard let result, let key = result.range(of: #""started_us":"#) else { return nil }
        let digits = result[key.upperBound...].prefix { $0.isNumber }
        return Double(digits).map { $0 / 1e6 }
    }

    func run() throws -> Result {
        let start = ContinuousClock.now
        func seconds(_ instant: ContinuousClock.Instant) -> Double {
            let elapsed = instant - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
        var submittedAt: [UInt64: Double] = [:]
        var acceptedAt: [UUID: Double] = [:]
        var result = Result(lastAccepted: 0, lastFinal: 0, acceptLatencies: [], dispatchLatencies: [], startLatencies: [], acceptedToStart: [], failed: 0)
        var acceptedWall: [UUID: Double] = [:]
        var submittedWall: [UUID: Double] = [:]
        var wallByRequest: [UInt64: Double] = [:]
        result.acceptLatencies.reserveCapacity(jobs)
        result.dispatchLatencies.reserveCapacity(jobs)
        var sent = 0, finished = 0, inFlight = 0
        while finished < jobs {
            while sent < jobs && inFlight < concurrency {
                let requestId = client.makeRequestId()
                submittedAt[requestId] = seconds(.now)
                // Start latencies are sampled (1 job in 16): the bookkeeping runs on this client's hot path.
                if requestId % 16 == 0 { wallByRequest[requestId] = Date().timeIntervalSince1970 }
                try client.send(.submit(.init(requestId: requestId, kind: "echo", params: "{}")))
                sent += 1
                inFlight += 1
            }
            guard let reply = try client.receive(timeoutMilliseconds: 30_000) else { throw CLIError("the router stopped answering") }
            let now = seconds(.now)
            switch reply {
            case .accepted(let requestId, let job):
                if let at = submittedAt.removeValue(forKey: requestId) { result.acceptLatencies.append(now - at) }
                acceptedAt[job] = now
                if let submitted = wallByRequest.removeValue(forKey: requestId) {
                    submittedWall[job] = submitted
                    acceptedWall[job] = Date().timeIntervalSince1970
                }
                result.lastAccepted = now
            case .final(let final):
                if let at = acceptedAt.removeValue(forKey: final.job) { result.dispatchLatencies.append(now - at) }
                if let submitted = submittedWall.removeValue(forKey: final.job), let accepted = acceptedWall.removeValue(forKey: final.job),
                   let started = Self.startedSeconds(final.result) {
                    result.startLatencies.append(started - submitted)
                    result.acceptedToStart.append(started - accepted)
                }
                if final.state != "succeeded" { result.failed += 1 }
                finished += 1
                inFlight -= 1
                result.lastFinal = now
            case .error(_, _, let code, let message):
                throw CLIError("router refused a job: \(code): \(message)")
            default:
                break
            }
        }
        return result
    }
}

extension Array where Element == Double {
    /// The `fraction` percentile by nearest rank (0 for an empty array).
    func percentile(_ fraction: Double) -> Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let rank = Int((Double(sorted.count) * fraction).rounded(.up)) - 1
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank))]
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
enum CPUTime {
    static func of(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the name: state is [0], utime [11], stime [12], in clock ticks.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func ofSelf() -> Double { of(getpid()) }
}

/// The 1-minute load average, printed beside figures: a loaded machine gives slower ones.
enum LoadAverage {
    static var text: String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
    }
}
