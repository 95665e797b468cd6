import CZeroMQ
import TandemWire

/// One ZeroMQ socket.
///
/// Threading rule: ZeroMQ sockets are not thread-safe. A socket is created, used and closed by one
/// thread (the router's or the worker's poll loop, or a client's caller); `@unchecked Sendable`
/// only lets it be handed to that thread once.
public final class ZMQSocket: @unchecked Sendable {
    public enum Kind: Int32, Sendable {
        case router = 6  // ZMQ_ROUTER
        case dealer = 5  // ZMQ_DEALER
        case pair = 0    // ZMQ_PAIR
        case push = 8    // ZMQ_PUSH
        case pull = 7    // ZMQ_PULL
    }

    /// What `receive` gives back: the frames, or why the message was dropped after it was drained.
    public enum Received: Sendable {
        case frames([[UInt8]])
        case tooManyFrames(identity: [UInt8]?, count: Int)
    }

    let handle: UnsafeMutableRawPointer
    private var closed = false

    public init(context: ZMQContext, kind: Kind) throws {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError("zmq_socket") }
        self.handle = handle
        try setInt32(ZMQ_LINGER, 0)
    }

    deinit { close() }

    public func close() {
        if !closed {
            zmq_close(handle)
            closed = true
        }
    }

    public func setInt32(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    public func setInt64(_ option: Int32, _ value: Int64) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    public func setBytes(_ option: Int32, _ bytes: [UInt8]) throws {
        guard bytes.withUnsafeBytes({ zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }) == 0 else {
            throw ZMQError("zmq_setsockopt(\(option))")
        }
    }

    /// Applies the limits every Tandem socket has: inbound message size and high-water marks.
    public func applyProtocolLimits(highWaterMark: Int32 = 100_000) throws {
        try setInt64(ZMQ_MAXMSGSIZE, Int64(ProtocolConstants.maxBlobBytes))
        try setInt32(ZMQ_SNDHWM, highWaterMark)
        try setInt32(ZMQ_RCVHWM, highWaterMark)
    }

    /// Binds and returns the bound endpoint, so `tcp://127.0.0.1:*` gives back the chosen port.
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("zmq_bind(\(endpoint))") }
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { throw ZMQError("zmq_getsockopt(LAST_ENDPOINT)") }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("zmq_connect(\(endpoint))") }
    }

    /// Sends a multipart message. Returns false when it would block and `wait` is false.
    @discardableResult
    public func send(_ frames: [[UInt8]], wait: Bool = true) throws -> Bool {
        try send(frames, wait: wait, more: false)
    }

    /// `more`: further frames of the same message follow these.
    @discardableResult
    private func send(_ frames: [[UInt8]], wait: Bool = true, more: Bool) throws -> Bool {
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 || more ? ZMQ_SNDMORE : 0
            if !wait { flags |= ZMQ_DONTWAIT }
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if rc < 0 {
                let error = ZMQError("zmq_send")
                // Only the first frame can fail with EAGAIN: ZeroMQ queues the rest atomically.
                if error.wouldBlock && index == 0 && !wait { return false }
                throw error
            }
        }
        return true
    }

    /// Sends `frames` followed by frames of `sizes` bytes that `fill(index, buffer)` writes straight
    /// into ZeroMQ's message buffers: one copy of bulk data instead of two (into an array, then into
    /// the message). Every frame is filled before any is sent, so a failing `fill` sends nothing.
    public func send(_ frames: [[UInt8]], filling sizes: [Int], _ fill: (Int, UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let messages = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: max(1, sizes.count))
        var initialized = 0
        defer {
            for i in 0..<initialized { zmq_msg_close(messages + i) }  // a sent message is already empty
            messages.deallocate()
        }
        for (i, size) in sizes.enumerated() {
            guard zmq_msg_init_size(messages + i, size) == 0 else { throw ZMQError("zmq_msg_init_size") }
            initialized += 1
            try fill(i, UnsafeMutableRawBufferPointer(start: zmq_msg_data(messages + i), count: size))
        }
        try send(frames, more: !sizes.isEmpty)
        for i in sizes.indices where zmq_msg_send(messages + i, handle, i < sizes.count - 1 ? ZMQ_SNDMORE : 0) < 0 {
            throw ZMQError("zmq_msg_send")
        }
    }

    /// Sends `identity` followed by `frames` on a ROUTER socket.
    @discardableResult
    public func send(to identity: [UInt8], _ frames: [[UInt8]], wait: Bool = true) throws -> Bool {
        try send([identity] + frames, wait: wait)
    }

    /// Receives one whole multipart message, or nil if none is waiting and `wait` is false.
    /// A message with more than `maxFrames` frames is drained and reported, never kept.
    public func receive(wait: Bool = true, maxFrames: Int = ProtocolConstants.maxBlobFrames + 4) throws -> Received? {
        var frames: [[UInt8]] = []
        var count = 0
        var first: [UInt8]?
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let rc = zmq_msg_recv(&message, handle, (wait || count > 0) ? 0 : ZMQ_DONTWAIT)
            if rc < 0 {
                let error = ZMQError("zmq_msg_recv")
                if error.wouldBlock && count == 0 { return nil }
                if error.errno == EINTR { continue }
                throw error
            }
            count += 1
            let size = zmq_msg_size(&message)
            let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(&message), count: size))
            if count == 1 { first = bytes }
            if count <= maxFrames { frames.append(bytes) }
            if zmq_msg_more(&message) == 0 { break }
        }
        return count > maxFrames ? .tooManyFrames(identity: first, count: count) : .frames(frames)
    }
}
