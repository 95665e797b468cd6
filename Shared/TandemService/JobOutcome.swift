/// What a finished job returns: a JSON result and optional blob frames (an image, say).
public struct JobOutcome: Sendable {
    public var result: String?
    public var blobs: [[UInt8]]

    public init(result: String? = nil, blobs: [[UInt8]] = []) {
        self.result = result
        self.blobs = blobs
    }
}
