import CZeroMQ

/// A failed ZeroMQ call: the call's name and `zmq_errno()` with its text.
public struct ZMQError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    init(_ operation: String, errno: Int32 = zmq_errno()) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation): \(String(cString: zmq_strerror(errno))) (errno \(errno))"
    }

    /// The peer a ROUTER socket tried to reach is not connected (`ZMQ_ROUTER_MANDATORY`).
    public var isHostUnreachable: Bool { errno == EHOSTUNREACH }
    public var wouldBlock: Bool { errno == EAGAIN }
}
