import CZeroMQ

/// A ZeroMQ context shared by the sockets of one process.
///
/// `zmq_ctx_*` calls are thread-safe, so the context may be shared; sockets may not (see `ZMQSocket`).
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() {
        handle = zmq_ctx_new()
    }

    deinit {
        zmq_ctx_term(handle)
    }
}
