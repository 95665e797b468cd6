import Foundation
import Logging
import ServiceLifecycle

/// A worker service as a swift-service-lifecycle `Service`.
///
/// ```swift
/// let worker = WorkerRuntime(configuration: .init(service: "echo", capacity: 8), handler: EchoHandler(), logger: logger)
/// try await ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
/// On graceful shutdown it sends DRAIN, lets in-flight jobs finish for the grace period, hands the
/// rest back with RELEASE and says DISCONNECT.
public struct WorkerRuntime: Service {
    private let loop: WorkerLoop

    public init(configuration: WorkerConfiguration, handler: any JobHandler, logger: Logger) {
        loop = WorkerLoop(configuration: configuration, handler: handler, logger: logger)
    }

    public func run() async throws {
        let loop = self.loop
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let thread = Thread {
                    do {
                        try loop.run()
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "tandem-worker"
                thread.start()
            }
        } onGracefulShutdown: {
            loop.post(.beginShutdown)
        }
    }
}
