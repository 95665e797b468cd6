#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read-only mapping of a GGUF file's bytes, apart from the parsed header.
///
/// Tensor data points into it, so whatever reads tensors keeps the mapping alive; the metadata
/// (the tokenizer's vocabulary and merges, ~3.6 MB of Swift values here) lives in `GGUFFile` and
/// goes away with it once the model and the tokenizer are built.
public final class GGUFMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    public let byteCount: Int

    init(base: UnsafeMutableRawPointer, byteCount: Int) {
        self.base = base
        self.byteCount = byteCount
    }

    deinit { munmap(base, byteCount) }

    /// Drops the resident pages that lie wholly inside `tensor`'s bytes (a caller that copied them
    /// elsewhere). The mapping stays valid: touching the bytes again reads them back from the file.
    public func releasePages(of tensor: GGUFTensor) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (tensor.fileOffset + page - 1) / page * page
        let end = (tensor.fileOffset + tensor.byteCount) / page * page
        if end > start { _ = madvise(base + start, end - start, MADV_DONTNEED) }
    }
}
