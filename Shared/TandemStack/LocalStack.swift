import Foundation

/// A stack on this machine: PostgreSQL, the router and worker services as detached processes,
/// with logs in `.tandem/logs/` and pids in `.tandem/pids/` (`tandem up`, `scale`, `down`).
///
/// ```swift
/// let stack = LocalStack(projectDirectory: URL(fileURLWithPath: "."), executableDirectory: binDirectory)
/// let outcome = try stack.up(.init(clientEndpoint: "tcp://127.0.0.1:5555", workerEndpoint: "tcp://127.0.0.1:5556"))
/// try stack.scale(service: "echo", to: 3)
/// try stack.down()
/// ```
public struct LocalStack: Sendable {
    public var paths: StackPaths
    /// Where `tandem-router` and the `tandem-SERVICE` executables are (next to `tandem`).
    public var executableDirectory: URL

    public struct UpOptions: Sendable {
        public var clientEndpoint: String
        public var workerEndpoint: String
        /// An external database; `nil` starts the private cluster under `.tandem/postgres`.
        public var databaseURL: String?
        public var schema: String?

        public init(clientEndpoint: String, workerEndpoint: String, databaseURL: String? = nil, schema: String? = nil) {
            self.clientEndpoint = clientEndpoint
            self.workerEndpoint = workerEndpoint
            self.databaseURL = databaseURL
            self.schema = schema
        }
    }

    public enum UpOutcome: Sendable {
        /// Something of the stack still runs; nothing was started.
        case alreadyRunning([StackProcess])
        case started([StackProcess], StackSettings)
    }

    public init(projectDirectory: URL, executableDirectory: URL) {
        paths = StackPaths(projectDirectory: projectDirectory)
        self.executableDirectory = executableDirectory
    }

    /// The processes of the stack that run now.
    public func running() -> [StackProcess] {
        StackProcess.recorded(in: paths.pids).filter(\.isAlive)
    }

    /// Starts the database (unless external), the router and one process of every service whose
    /// executable exists. Starts nothing if any process of the stack still runs.
    public func up(_ options: UpOptions) throws -> UpOutcome {
        let alive = running()
        guard alive.isEmpty else { return .alreadyRunning(alive) }
        forgetDeadProcesses()
        let router = executableDirectory.appendingPathComponent(ServiceCatalog.routerExecutableName)
        guard FileManager.default.isExecutableFile(atPath: router.path) else {
            throw StackError.invalidArgument("no \(router.path): build first (swift build)")
        }
        let databaseURL: String
        if let external = options.databaseURL {
            databaseURL = external
        } else {
            let cluster = try PostgresCluster(directory: paths.postgres)
            try cluster.start()
            databaseURL = try cluster.url()
        }
        let settings = StackSettings(
            clientEndpoint: options.clientEndpoint, workerEndpoint: options.workerEndpoint, databaseURL: databaseURL,
            usesPrivateCluster: options.databaseURL == nil, schema: options.schema)
        try FileManager.default.createDirectory(at: paths.root, withIntermediateDirectories: true)
        try JSONEncoder().encode(settings).write(to: paths.settings)

        // Workers start only once the router listens: a router that cannot bind (another stack
        // holds the ports) must not leave workers registering with someone else's router.
        let readyFile = paths.root.appendingPathComponent("router.ready.json")
        try? FileManager.default.removeItem(at: readyFile)
        var routerArguments = ["--clients", settings.clientEndpoint, "--workers", settings.workerEndpoint, "--database-url", databaseURL,
                               "--ready-file", readyFile.path]
        if let schema = settings.schema { routerArguments += ["--schema", schema] }
        let routerProcess = try start(name: "router", executable: router.path, arguments: routerArguments)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: readyFile.path) {
            guard routerProcess.isAlive, Date() < deadline else {
                StackProcess.stop([routerProcess], graceSeconds: 2)
                routerProcess.forget(in: paths.pids)
                let log = (try? String(contentsOf: paths.logs.appendingPathComponent("router.log"), encoding: .utf8)) ?? ""
                throw StackError.routerDidNotStart(log: log.split(separator: "\n").suffix(5).joined(separator: "\n"))
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        var started = [routerProcess]
        for service in ServiceCatalog.services where FileManager.default.isExecutableFile(atPath: executable(of: service).path) {
            started.append(try startWorker(service, index: 1, settings: settings))
        }
        return .started(started, settings)
    }

    /// Starts or stops processes of `service` until `count` run; returns the ones running after.
    @discardableResult
    public func scale(service: String, to count: Int) throws -> [StackProcess] {
        guard count >= 0 else { throw StackError.invalidArgument("a process count cannot be negative") }
        guard let settings = try savedSettings(), running().contains(where: { $0.name == "router" }) else {
            throw StackError.notRunning("the local stack (run `tandem up` first)")
        }
        guard FileManager.default.isExecutableFile(atPath: executable(of: service).path) else {
            throw StackError.invalidArgument("no executable \(executable(of: service).path) for service \(service)")
        }
        forgetDeadProcesses()
        var current = running().filter { $0.service == service }.sorted { ($0.index ?? 0) < ($1.index ?? 0) }
        if current.count > count {
            let extra = Array(current.suffix(current.count - count))
            StackProcess.stop(extra, graceSeconds: 10)
            extra.forEach { $0.forget(in: paths.pids) }
            current.removeLast(extra.count)
        }
        var nextIndex = (current.compactMap(\.index).max() ?? 0) + 1
        while current.count < count {
            current.append(try startWorker(service, index: nextIndex, settings: settings))
            nextIndex += 1
        }
        return current
    }

    /// What `down` stopped.
    public struct DownOutcome: Sendable {
        public var stoppedProcesses: [StackProcess]
        public var stoppedPrivateCluster: Bool
    }

    /// Stops services, then the router (SIGTERM, `graceSeconds`, SIGKILL), then the private cluster.
    @discardableResult
    public func down(graceSeconds: Double = 10) throws -> DownOutcome {
        let recorded = StackProcess.recorded(in: paths.pids)
        let alive = recorded.filter(\.isAlive)
        let services = recorded.filter { $0.name != "router" }
        StackProcess.stop(services, graceSeconds: graceSeconds)
        let router = recorded.filter { $0.name == "router" }
        StackProcess.stop(router, graceSeconds: graceSeconds)
        recorded.forEach { $0.forget(in: paths.pids) }
        var stoppedCluster = false
        let usesPrivateCluster = try savedSettings()?.usesPrivateCluster ?? true
        if usesPrivateCluster, FileManager.default.fileExists(atPath: paths.postgres.path) {
            let cluster = try PostgresCluster(directory: paths.postgres)
            stoppedCluster = cluster.isRunning()
            try cluster.stop()
        }
        return DownOutcome(stoppedProcesses: alive, stoppedPrivateCluster: stoppedCluster)
    }

    public func savedSettings() throws -> StackSettings? {
        guard let data = try? Data(contentsOf: paths.settings) else { return nil }
        return try JSONDecoder().decode(StackSettings.self, from: data)
    }

    private func executable(of service: String) -> URL {
        executableDirectory.appendingPathComponent(ServiceCatalog.executableName(service))
    }

    private func startWorker(_ service: String, index: Int, settings: StackSettings) throws -> StackProcess {
        // Workers that submit jobs themselves (decode asks for prefills) find the client endpoint in
        // TANDEM_ROUTER, which children inherit.
        setenv("TANDEM_ROUTER", settings.clientEndpoint, 1)
        var arguments = ["--router", settings.workerEndpoint]
        // On one host, KV blocks travel faster over a Unix socket than over loopback TCP. (The
        // socket path must fit sockaddr_un: elsewhere the worker's TCP default stays.)
        let dataSocket = paths.root.appendingPathComponent("run/\(service).\(index).sock").path
        if service == "decode" || service == "draft", dataSocket.utf8.count < 100 {
            try FileManager.default.createDirectory(at: paths.root.appendingPathComponent("run"), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: dataSocket)
            arguments += ["--data-endpoint", "ipc://" + dataSocket]
        }
        // Decode workers ask draft workers for every method when one is up, else draft in process.
        if service == "decode" { arguments += ["--remote-draft-methods", "lookup,early-exit,model"] }
        return try start(name: "\(service).\(index)", executable: executable(of: service).path, arguments: arguments)
    }

    private func start(name: String, executable: String, arguments: [String]) throws -> StackProcess {
        try FileManager.default.createDirectory(at: paths.logs, withIntermediateDirectories: true)
        let process = try StackProcess.start(
            name: name, executable: executable, arguments: arguments, log: paths.logs.appendingPathComponent("\(name).log"))
        try process.record(in: paths.pids)
        return process
    }

    private func forgetDeadProcesses() {
        StackProcess.recorded(in: paths.pids).filter { !$0.isAlive }.forEach { $0.forget(in: paths.pids) }
    }
}
