/// Anonymous memory holding the model's weights in the kernels' panel layout.
///
/// Why a copy: the GGUF rows of a Q4_1 matrix put one row's 20-byte blocks one after another, so
/// a decode step reads eight rows as eight strided streams and converts each block's scales one
/// at a time; the panel layout (CTandemKernels.h) streams each group of rows in one run and
/// handles eight rows per instruction. The copy is exactly as large as the tensors it replaces,
/// and the file's pages of those tensors are dropped once copied (`GGUFMapping.releasePages`), so
/// the resident size stays the file's. The memory asks for transparent huge pages: a token reads
/// every byte, and 4 KiB pages would cost ~24,000 TLB misses per token.
final class PackedWeightStorage: @unchecked Sendable {
    private let mapping: AnonymousMapping
    private var used = 0

    init(byteCount: Int) {
        mapping = AnonymousMapping(byteCount: byteCount, hugePages: true)
    }

    /// The next `bytes` of the storage, 64-byte aligned.
    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let start = (used + 63) / 64 * 64
        precondition(start + bytes <= mapping.byteCount, "packed weights overflow their storage")
        used = start + bytes
        return mapping.base + start
    }
}
