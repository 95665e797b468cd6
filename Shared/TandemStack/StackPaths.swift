import Foundation

/// Where a local stack keeps its files: everything under `.tandem/` in the project folder.
public struct StackPaths: Sendable {
    public var root: URL

    public init(projectDirectory: URL) {
        root = projectDirectory.appendingPathComponent(".tandem", isDirectory: true)
    }

    public var logs: URL { root.appendingPathComponent("logs", isDirectory: true) }
    public var postgres: URL { root.appendingPathComponent("postgres", isDirectory: true) }
    /// One `NAME.pid` file per process the stack started.
    public var pids: URL { root.appendingPathComponent("pids", isDirectory: true) }
    /// The settings `tandem up` chose (`StackSettings`), which `scale` and `down` reuse.
    public var settings: URL { root.appendingPathComponent("stack.json") }
}
