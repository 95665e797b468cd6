import Foundation
import XCTest

/// A test case that runs real services: a fresh database schema per test, and every child
/// process it starts stopped in `tearDown` (their logs printed when the test failed).
open class ServiceTestCase: XCTestCase {
    public var database: TestDatabase!
    public var children: [ChildProcess] = []

    open override func setUpWithError() throws {
        database = try TestDatabase()
    }

    open override func tearDownWithError() throws {
        for child in children.reversed() { child.terminate(grace: 5) }
        if testRun?.hasSucceeded == false {
            for child in children { print("---- \(child.name) log ----\n\(child.log.suffix(4000))") }
        }
        children.removeAll()
        database?.drop()
    }

    /// A router on the test's schema, stopped with the test.
    public func startRouter(clients: String = "tcp://127.0.0.1:*", workers: String = "tcp://127.0.0.1:*", _ extra: [String] = []) throws -> LocalRouter {
        let router = try LocalRouter(databaseURL: database.url, schema: database.schema, clients: clients, workers: workers, extraArguments: extra)
        children.append(router.process)
        return router
    }

    /// A worker of `router`, stopped with the test.
    public func startWorker(_ router: LocalRouter, _ executable: String = "tandem-echo", capacity: Int, name: String,
                            heartbeatMilliseconds: Int = 200, extraArguments: [String] = []) throws -> ChildProcess {
        let worker = try router.startWorker(executable, capacity: capacity, heartbeatMilliseconds: heartbeatMilliseconds,
                                            name: name, extraArguments: extraArguments)
        children.append(worker)
        return worker
    }
}
