import Foundation

/// Where the package's executables are: beside the test bundle in `.build/<config>/`, or in
/// `TANDEM_BIN_DIR`.
public enum BuiltExecutables {
    public static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["TANDEM_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The runner is `.build/<config>/TandemPackageTests.xctest` (a file on Linux, a bundle elsewhere).
        while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}
