import Foundation
import Logging
import ServiceLifecycle

/// Runs a `Router` as a swift-service-lifecycle `Service`: the poll loop on its own thread,
/// stopped cleanly on SIGTERM/SIGINT through the service group's graceful shutdown.
public struct RouterService: Service {
    public let router: Router

    public init(router: Router) {
        self.router = router
    }

    public func run() async throws {
        let router = self.router
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    router.run()
                    continuation.resume()
                }
                thread.name = "tandem-router"
                thread.start()
            }
        } onGracefulShutdown: {
            router.stop()
        }
    }
}
