import Foundation
import TandemStore
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster in a folder of the project: `tandem db start`, `tandem up`, `make test`.
///
/// Layout under the cluster folder: `data/` (PGDATA), `socket/` (the Unix socket), `port` (the TCP
/// port on 127.0.0.1, chosen free on first start and reused while free) and `postgres.log`.
/// Authentication is `trust`: the cluster listens on loopback and a private socket only.
///
/// Root: `initdb` refuses to run as root, so as root every PostgreSQL program runs as Debian's
/// `postgres` system user (`runuser -u postgres --`) and the folders are chowned to it. That user
/// must be able to reach the folder: when an ancestor is not traversable by it (say, a project
/// under a 0700 home), or the socket path would exceed the 107 bytes a Unix socket name allows, the
/// cluster lives under the `postgres` user's home instead (`~postgres/tandem/NAME-HASH`), and the
/// cluster folder holds a `location` file naming it. Permissions of the project's ancestors are
/// never changed.
///
/// ```swift
/// let cluster = try PostgresCluster(directory: URL(fileURLWithPath: ".tandem/postgres"))
/// try cluster.start()
/// print(try cluster.url())  // postgresql://postgres@/postgres?host=…/socket&port=…
/// ```
public struct PostgresCluster: Sendable {
    /// The folder the caller named.
    public let directory: URL
    /// Where data, socket, port and log live: `directory`, or the fallback described above.
    public let root: URL
    public let binDirectory: URL
    /// The system user PostgreSQL runs as, when it is not the current one.
    public let systemUser: String?
    public let database: String

    public var dataDirectory: URL { root.appendingPathComponent("data", isDirectory: true) }
    public var socketDirectory: URL { root.appendingPathComponent("socket", isDirectory: true) }
    public var logFile: URL { root.appendingPathComponent("postgres.log") }
    var portFile: URL { root.appendingPathComponent("port") }

    public init(directory: URL, database: String = "postgres") throws {
        self.directory = directory.standardizedFileURL
        self.database = database
        binDirectory = try Self.findBinDirectory()
        if geteuid() == 0 {
            guard getpwnam("postgres") != nil else { throw StackError.noSuchUser("postgres") }
            systemUser = "postgres"
        } else {
            systemUser = nil
        }
        root = Self.chooseRoot(for: self.directory, systemUser: systemUser)
    }

    /// Initializes the cluster on first use, starts it if it is not running, and creates `database`.
    public func start() throws {
        try prepareFolders()
        let runner = CommandRunner(user: systemUser)
        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            try runner.check(tool("initdb"), [
                "-D", dataDirectory.path, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale",
                "--no-instructions",
            ])
            try appendLine("include_if_exists = 'tandem.conf'", to: dataDirectory.appendingPathComponent("postgresql.conf"))
        }
        guard !isRunning() else { return }
        let port = try choosePort()
        try "\(port)\n".write(to: portFile, atomically: true, encoding: .utf8)
        let settings = """
            # Written by `tandem db start` at every start.
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(socketDirectory.path.replacingOccurrences(of: "'", with: "''"))'

            """
        let settingsFile = dataDirectory.appendingPathComponent("tandem.conf")
        try settings.write(to: settingsFile, atomically: true, encoding: .utf8)
        try chownToSystemUser(settingsFile)
        try runner.check(tool("pg_ctl"), ["start", "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60"])
        try createDatabaseIfMissing()
    }

    /// Stops the server (fast shutdown: sessions are ended, committed data is safe). Does nothing if stopped.
    public func stop() throws {
        guard isRunning() else { return }
        try CommandRunner(user: systemUser).check(tool("pg_ctl"), ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60"])
    }

    public func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) else { return false }
        let outcome = try? CommandRunner(user: systemUser).run(tool("pg_ctl"), ["status", "-D", dataDirectory.path])
        return outcome?.status == 0
    }

    /// `postgresql://postgres@/DATABASE?host=SOCKETDIR&port=PORT`.
    public func url() throws -> String {
        Self.url(database: database, socketDirectory: socketDirectory.path, port: try recordedPort())
    }

    /// The port of the last start.
    public func recordedPort() throws -> Int {
        guard let text = try? String(contentsOf: portFile, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw StackError.notRunning("PostgreSQL cluster in \(directory.path) (never started)") }
        return port
    }

    static func url(database: String, socketDirectory: String, port: Int) -> String {
        let host = socketDirectory.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? socketDirectory
        return "postgresql://postgres@/\(database)?host=\(host)&port=\(port)"
    }

    // MARK: - Setup

    private func tool(_ name: String) -> URL { binDirectory.appendingPathComponent(name) }

    /// The newest `/usr/lib/postgresql/N/bin` holding `initdb` and `pg_ctl`.
    static func findBinDirectory() throws -> URL {
        let base = URL(fileURLWithPath: "/usr/lib/postgresql", isDirectory: true)
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        let candidates = versions.compactMap { Int($0) }.sorted(by: >).map {
            base.appendingPathComponent("\($0)/bin", isDirectory: true)
        }
        for candidate in candidates
        where ["initdb", "pg_ctl"].allSatisfy({ FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent($0).path) }) {
            return candidate
        }
        throw StackError.postgresNotInstalled
    }

    /// `directory` when the PostgreSQL user can reach it and its socket path fits, else a folder
    /// under that user's home named after `directory` (see the type's documentation).
    static func chooseRoot(for directory: URL, systemUser: String?) -> URL {
        if let location = try? String(contentsOf: directory.appendingPathComponent("location"), encoding: .utf8) {
            return URL(fileURLWithPath: location.trimmingCharacters(in: .whitespacesAndNewlines), isDirectory: true)
        }
        let socketPath = directory.appendingPathComponent("socket/.s.PGSQL.65535").path
        let reachable = systemUser.map { ancestorsTraversable(directory, byUser: $0) } ?? true
        if reachable && socketPath.utf8.count <= 100 { return directory }
        let home = systemUser.flatMap { getpwnam($0) }.map { String(cString: $0.pointee.pw_dir) }
            ?? FileManager.default.temporaryDirectory.path
        let name = directory.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
        return URL(fileURLWithPath: home, isDirectory: true)
            .appendingPathComponent("tandem/\(name)-\(fnv1a(directory.path))", isDirectory: true)
    }

    /// Whether `user` can search every existing ancestor of `directory` (mode bits; root's view of them).
    static func ancestorsTraversable(_ directory: URL, byUser user: String) -> Bool {
        guard let entry = getpwnam(user) else { return false }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        var ancestor = directory.deletingLastPathComponent()
        while true {
            var info = stat()
            if stat(ancestor.path, &info) == 0 {
                let mode = info.st_mode
                let searchable = info.st_uid == uid ? mode & S_IXUSR != 0
                    : info.st_gid == gid ? mode & S_IXGRP != 0
                    : mode & S_IXOTH != 0
                if !searchable { return false }
            }
            if ancestor.path == "/" { return true }
            ancestor = ancestor.deletingLastPathComponent()
        }
    }

    private static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash & 0xffff_ffff, radix: 16)
    }

    private func prepareFolders() throws {
        let files = FileManager.default
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        if root != directory {
            try files.createDirectory(at: root, withIntermediateDirectories: true)
            try (root.path + "\n").write(to: directory.appendingPathComponent("location"), atomically: true, encoding: .utf8)
        }
        try files.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        try chownToSystemUser(root)
        try chownToSystemUser(socketDirectory)
        if files.fileExists(atPath: logFile.path) { try chownToSystemUser(logFile) }
    }

    private func chownToSystemUser(_ url: URL) throws {
        guard let systemUser, let entry = getpwnam(systemUser) else { return }
        guard chown(url.path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else { throw StackError.system("chown \(url.path)", errno) }
    }

    private func appendLine(_ line: String, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + line + "\n").utf8))
    }

    private func choosePort() throws -> Int {
        if let text = try? String(contentsOf: portFile, encoding: .utf8),
           let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), FreePort.isFree(port) {
            return port
        }
        return try FreePort.pick()
    }

    private func createDatabaseIfMissing() throws {
        guard database != "postgres" else { return }
        let connection = try PostgresConnection(
            url: Self.url(database: "postgres", socketDirectory: socketDirectory.path, port: try recordedPort()))
        let exists = try connection.execute("SELECT 1 FROM pg_database WHERE datname = $1", [database])
        if exists.rowCount == 0 { try connection.executeScript("CREATE DATABASE \(PostgresIdentifier.quoted(database))") }
    }
}
