/// The BPE merges as a compressed sparse row table: for each left token, its right partners in
/// ascending order with the merge's rank and result.
///
/// Why not a dictionary keyed by the pair: at the 0.75 load a Swift dictionary keeps, SmolLM2's
/// 48,900 merges took 1 MB (16 bytes × 65,536 buckets) in every process that holds a tokenizer;
/// this takes 0.78 MB, and a lookup is a binary search within one left token's row (most rows
/// hold a few entries; the longest, after "Ġ", a few thousand in one contiguous run).
struct BPEMergeTable: Sendable {
    struct Merge: Sendable, Equatable {
        var rank: Int32
        var merged: Int32
    }

    /// Row `l` is `rows[l]..<rows[l + 1]` of the arrays below.
    private let rows: [Int32]
    private let rights: [Int32]
    private let merges: [Merge]

    /// `pairs` in rank order (a pair listed twice keeps its first rank); a pair with an id outside
    /// `0..<vocabularySize` (a merge of symbols that are not tokens) never applies.
    init(pairs: [(left: Int32, right: Int32, merged: Int32)], vocabularySize: Int) {
        let ids = 0..<Int32(vocabularySize)
        var ranked = pairs.enumerated()
            .filter { ids.contains($1.left) && ids.contains($1.right) && ids.contains($1.merged) }
            .map { (left: $1.left, right: $1.right, merge: Merge(rank: Int32($0), merged: $1.merged)) }
        ranked.sort { ($0.left, $0.right, $0.merge.rank) < ($1.left, $1.right, $1.merge.rank) }
        var rows = [Int32](repeating: 0, count: vocabularySize + 1)
        var rights: [Int32] = [], merges: [Merge] = []
        rights.reserveCapacity(ranked.count)
        merges.reserveCapacity(ranked.count)
        for (i, p) in ranked.enumerated() where i == 0 || (ranked[i - 1].left, ranked[i - 1].right) != (p.left, p.right) {
            rows[Int(p.left) + 1] += 1
            rights.append(p.right)
            merges.append(p.merge)
        }
        for l in 0..<vocabularySize { rows[l + 1] += rows[l] }
        self.rows = rows
        self.rights = rights
        self.merges = merges
    }

    /// The merge of `left` followed by `right`, if there is one.
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        guard left >= 0, Int(left) + 1 < rows.count else { return nil }
        let end = Int(rows[Int(left) + 1])
        var low = Int(rows[Int(left)]), high = end
        while low < high {
            let mid = (low + high) / 2
            if rights[mid] < right { low = mid + 1 } else { high = mid }
        }
        return low < end && rights[low] == right ? merges[low] : nil
    }

    var count: Int { rights.count }
}
