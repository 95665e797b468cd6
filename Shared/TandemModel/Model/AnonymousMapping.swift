#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zero-filled memory mapped from the kernel directly, returned to it when released.
///
/// Why not `allocate`: malloc keeps large freed blocks in its heap once its dynamic threshold has
/// grown (a finished 512-token prefill left its 24 MB KV cache resident), and zero-filling an
/// allocation makes every page resident at once. A mapping's pages count only once touched (a
/// KV cache's unused blocks cost nothing) and leave with `munmap`.
final class AnonymousMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    /// Maps `byteCount` bytes (at least one page); `hugePages` asks for transparent huge pages
    /// (memory read whole and often, like weights, where 4 KiB pages would cost TLB misses).
    init(byteCount: Int, hugePages: Bool) {
        let granule = hugePages ? 2 << 20 : 4096
        self.byteCount = max(granule, (byteCount + granule - 1) / granule * granule)
        guard let p = mmap(nil, self.byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("cannot map \(self.byteCount) bytes (errno \(errno))")  // as `allocate` does when memory runs out
        }
        #if os(Linux)
        if hugePages { _ = madvise(p, self.byteCount, MADV_HUGEPAGE) }
        #endif
        base = p
    }

    deinit { munmap(base, byteCount) }
}
