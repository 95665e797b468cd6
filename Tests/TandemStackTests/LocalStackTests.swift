import Foundation
import TandemStack
import TestSupport
import XCTest

/// `up`, `scale` and `down` on stand-in executables (shell scripts that wait for SIGTERM) and the
/// test database, so no real service is needed.
final class LocalStackTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-stack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bin"), withIntermediateDirectories: true)
        for name in ["tandem-router", "tandem-echo", "tandem-decode"] {
            let script = folder.appendingPathComponent("bin/\(name)")
            // Like the real router, a stand-in writes the file `--ready-file` names once "listening".
            try """
                #!/bin/sh
                echo "$0 $*"
                while [ $# -gt 0 ]; do if [ "$1" = --ready-file ]; then echo '{}' > "$2"; fi; shift; done
                trap 'exit 0' TERM
                while :; do sleep 0.05; done

                """.write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        }
    }

    override func tearDownWithError() throws {
        let stack = LocalStack(projectDirectory: folder, executableDirectory: folder.appendingPathComponent("bin"))
        try? stack.down(graceSeconds: 1)
        try? FileManager.default.removeItem(at: folder)
    }

    func testUpFailsWithTheRouterLogAndStartsNoWorkerWhenTheRouterDoesNotComeUp() throws {
        let router = folder.appendingPathComponent("bin/tandem-router")
        try "#!/bin/sh\necho 'zmq_bind(tcp://127.0.0.1:25555): Address already in use'\nexit 1\n".write(to: router, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: router.path)
        let stack = LocalStack(projectDirectory: folder, executableDirectory: folder.appendingPathComponent("bin"))
        let options = LocalStack.UpOptions(clientEndpoint: "tcp://127.0.0.1:25555", workerEndpoint: "tcp://127.0.0.1:25556",
                                           databaseURL: "postgresql://unused")
        XCTAssertThrowsError(try stack.up(options)) { error in
            XCTAssertTrue("\(error)".contains("Address already in use"), "\(error)")
        }
        XCTAssertEqual(stack.running(), [], "no worker started")
    }

    func testUpScaleDown() throws {
        let databaseURL = try XCTUnwrap(TestEnvironment.databaseURL ?? (TestEnvironment.allowsNoDatabase ? "postgresql://unused" : nil),
                                        "TANDEM_TEST_DATABASE_URL is not set: run `make test`")
        let stack = LocalStack(projectDirectory: folder, executableDirectory: folder.appendingPathComponent("bin"))
        let options = LocalStack.UpOptions(
            clientEndpoint: "tcp://127.0.0.1:25555", workerEndpoint: "tcp://127.0.0.1:25556", databaseURL: databaseURL)

        guard case .started(let started, let settings) = try stack.up(options) else { return XCTFail("expected a fresh start") }
        XCTAssertEqual(started.map(\.name), ["router", "echo.1", "decode.1"])
        XCTAssertFalse(settings.usesPrivateCluster)
        XCTAssertEqual(try stack.savedSettings(), settings)
        XCTAssertEqual(Set(stack.running().map(\.name)), ["router", "echo.1", "decode.1"])

        guard case .alreadyRunning(let running) = try stack.up(options) else { return XCTFail("a second up must start nothing") }
        XCTAssertEqual(running.count, 3)

        XCTAssertEqual(try stack.scale(service: "echo", to: 3).map(\.name), ["echo.1", "echo.2", "echo.3"])
        XCTAssertEqual(try stack.scale(service: "echo", to: 1).map(\.name), ["echo.1"])
        XCTAssertEqual(stack.running().filter { $0.service == "echo" }.count, 1)
        XCTAssertThrowsError(try stack.scale(service: "draft", to: 1), "no tandem-draft executable")

        let log = try String(contentsOf: stack.paths.logs.appendingPathComponent("echo.1.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("--router tcp://127.0.0.1:25556"), log)
        let routerLog = try String(contentsOf: stack.paths.logs.appendingPathComponent("router.log"), encoding: .utf8)
        XCTAssertTrue(routerLog.contains("--database-url \(databaseURL)"), routerLog)

        let pids = stack.running().map(\.pid)
        try stack.down(graceSeconds: 2)
        XCTAssertEqual(stack.running(), [])
        for pid in pids { XCTAssertNotEqual(kill(pid, 0), 0, "pid \(pid) survived down") }
    }
}
