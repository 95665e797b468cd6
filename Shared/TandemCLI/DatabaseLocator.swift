import Foundation
import TandemStack

/// Which PostgreSQL a command uses: the explicit URL, else `TANDEM_DATABASE_URL`, else the local
/// stack's private cluster under `.tandem/postgres` when it runs.
enum DatabaseLocator {
    static func url(explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let url = ProcessInfo.processInfo.environment["TANDEM_DATABASE_URL"] { return url }
        let paths = StackPaths(projectDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        if let cluster = try? PostgresCluster(directory: paths.postgres), cluster.isRunning(), let url = try? cluster.url() {
            return url
        }
        throw CLIError("no PostgreSQL: pass --database-url, set TANDEM_DATABASE_URL, or start the local stack with `tandem up`")
    }
}
