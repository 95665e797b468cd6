#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GGUF v3 model file, memory-mapped read-only; tensors stay in their stored (quantized) type.
///
/// The header, metadata and tensor directory are parsed and checked once at open: every length is
/// compared with the bytes that remain before anything is allocated, tensors must lie inside the
/// data section, aligned, without overlapping. Tensor bytes are never copied: `GGUFTensor.data`
/// points into `mapping`, so the resident memory of a loaded model is the file's pages (minus
/// those of tensors a model copied into another layout and released with `releasePages`). A
/// model keeps the mapping, not this object, so the parsed metadata is freed with it.
///
/// ```swift
/// let file = try GGUFFile(path: "models/SmolLM2-135M-Instruct.Q4_1.gguf")
/// let layers = file.metadata["llama.block_count"]?.intValue
/// ```
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let supportedVersion: UInt32 = 3
    public static let defaultAlignment = 32
    /// Caps that keep a lying header from making the reader allocate without bound.
    static let maxStringBytes = 1 << 24
    static let maxDimensions = 4
    static let maxArrayNesting = 2

    public let path: String
    public let version: UInt32
    public let alignment: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensor]
    /// The file's bytes; tensors' `data` are valid while it lives.
    public let mapping: GGUFMapping
    public var fileBytes: Int { mapping.byteCount }
    private let tensorIndex: [String: Int]

    /// Maps and parses the file at `path`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError.cannotOpen(path: path, errno: errno) }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError.truncated(what: "magic", offset: 0) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, errno: errno)
        }
        do {
            let parsed = try GGUFParser.parse(UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: size))
            version = parsed.version
            alignment = parsed.alignment
            metadata = parsed.metadata
            metadataKeys = parsed.metadataKeys
            tensors = parsed.tensors
            tensorIndex = Dictionary(uniqueKeysWithValues: parsed.tensors.enumerated().map { ($1.name, $0) })
        } catch {
            munmap(p, size)
            throw error
        }
        mapping = GGUFMapping(base: p, byteCount: size)
        // The header and metadata were copied into Swift values: their pages (the tokenizer's
        // vocabulary, ~2 MB here) need not stay resident.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let headerEnd = (tensors.map(\.fileOffset).min() ?? size) / page * page
        if headerEnd > 0 { _ = madvise(p, headerEnd, MADV_DONTNEED) }
    }

    /// The tensor called `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensor? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor called `name`, or `GGUFError.missingTensor`.
    public func requireTensor(_ name: String) throws -> GGUFTensor {
        guard let t = tensor(name) else { throw GGUFError.missingTensor(name) }
        return t
    }

    public func requireInt(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let i = v.intValue else { throw GGUFError.wrongKeyType(key) }
        return i
    }

    public func requireString(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let s = v.stringValue else { throw GGUFError.wrongKeyType(key) }
        return s
    }
}
