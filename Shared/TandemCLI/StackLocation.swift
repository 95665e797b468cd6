import Foundation
import TandemStack

/// The local stack of the current folder, run by the executables next to this `tandem`.
enum StackLocation {
    static func current() -> LocalStack {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return LocalStack(
            projectDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
            executableDirectory: URL(fileURLWithPath: executable).deletingLastPathComponent())
    }
}
