import Foundation

/// Where a local stack keeps its files: everything under `.tandem/` in the project folder.
public struct StackPaths: Sendable {
    public var root: URL

    public init(projectDirectory: URL) {
        root = projectDirectory.appendingPathComponent(".tandem", isDirectory: true)
    }

    public var logs: URL { root.appendingPathComponent("logs", isDirectory: true) }
    public var postgres: URL { root.appendingPathComponent("postgres", isDirectory: true) }
}
