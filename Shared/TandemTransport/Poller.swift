import CZeroMQ

/// `zmq_poll` over sockets and plain file descriptors, for input only.
public struct Poller {
    public enum Source {
        case socket(ZMQSocket)
        case fileDescriptor(Int32)
    }

    private var items: [zmq_pollitem_t]

    public init(_ sources: [Source]) {
        items = sources.map { source in
            switch source {
            case .socket(let socket): zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
            case .fileDescriptor(let fd): zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0)
            }
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns which sources are readable.
    public mutating func poll(timeoutMilliseconds: Int) throws -> [Bool] {
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds) }
        if rc < 0 {
            let error = ZMQError("zmq_poll")
            if error.errno == EINTR { return Array(repeating: false, count: items.count) }
            throw error
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
