import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs with `posix_spawn`, with their output sent to a file.
///
/// Not Foundation's `Process`: on Linux it learns that a child exited through a socket the child
/// inherits, so a child that leaves a daemon behind (`pg_ctl start`) is never seen to exit, and it
/// cannot start a child in a new session. Here the parent waits with `waitpid`, and services are
/// started in their own session (`setsid`) so they outlive the `tandem` command and its terminal.
enum ChildProcess {
    /// glibc's `POSIX_SPAWN_SETSID` (`spawn.h`), not imported into Swift.
    private static let spawnSetsid: Int32 = 0x80

    /// Starts `executable` with stdin from /dev/null and stdout and stderr appended to `outputPath`.
    static func spawn(_ executable: String, _ arguments: [String], outputPath: String, newSession: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newSession { posix_spawnattr_setflags(&attributes, Int16(spawnSetsid)) }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else { throw StackError.system("posix_spawn \(executable)", status) }
        return pid
    }

    /// Waits for `pid` and returns its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
