/// A decode worker's settings that cannot work with its model.
public struct DecodeSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
