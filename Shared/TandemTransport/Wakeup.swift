import Glibc

/// A self-pipe that wakes a poll loop from another thread.
///
/// Other threads hand work to a socket-owning loop through a locked queue and then `signal()`;
/// the loop polls `fileDescriptor` beside its sockets and `drain()`s it before reading the queue.
/// `write(2)` on a pipe is thread-safe, which a ZeroMQ socket is not.
public final class Wakeup: Sendable {
    public let fileDescriptor: Int32
    private let writeDescriptor: Int32

    public init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        fileDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        Glibc.close(fileDescriptor)
        Glibc.close(writeDescriptor)
    }

    /// Wakes the loop. A full pipe already means a wake-up is pending, so EAGAIN is fine.
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(fileDescriptor, &buffer, buffer.count) > 0 {}
    }
}
