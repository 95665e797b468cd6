import Foundation
@testable import TandemStack
import XCTest

final class PostgresClusterTests: XCTestCase {
    func testURLPointsAtTheSocketFolder() {
        XCTAssertEqual(
            PostgresCluster.url(database: "postgres", socketDirectory: "/work/p/.tandem/postgres/socket", port: 54321),
            "postgresql://postgres@/postgres?host=/work/p/.tandem/postgres/socket&port=54321")
    }

    func testAFolderWhoseSocketPathIsTooLongMovesUnderThePostgresHome() {
        let deep = URL(fileURLWithPath: "/tmp/" + String(repeating: "d", count: 90) + "/proj/.tandem/postgres")
        let root = PostgresCluster.chooseRoot(for: deep, systemUser: nil)
        XCTAssertNotEqual(root, deep)
        XCTAssertLessThan(root.appendingPathComponent("socket/.s.PGSQL.65535").path.utf8.count, 108)
        XCTAssertTrue(root.path.contains("tandem/proj-"), root.path)

        let short = URL(fileURLWithPath: "/tmp/proj/.tandem/postgres")
        XCTAssertEqual(PostgresCluster.chooseRoot(for: short, systemUser: nil), short)
    }

    func testTraversabilityFollowsModeBits() throws {
        guard getpwnam("postgres") != nil, geteuid() == 0 else { throw XCTSkip("needs root and the postgres user") }
        let closed = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-closed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: closed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: closed) }
        XCTAssertFalse(PostgresCluster.ancestorsTraversable(closed.appendingPathComponent("p/.tandem/postgres"), byUser: "postgres"))
        XCTAssertTrue(PostgresCluster.ancestorsTraversable(URL(fileURLWithPath: "/tmp/x/.tandem/postgres"), byUser: "postgres"))
    }
}
