import Foundation
import TandemModel

/// A drafter that proposes the same tokens for every request, after `delay` seconds: a stand-in
/// for a model drafter in draft-server tests that need no model.
final class FixedDrafter: Drafter, @unchecked Sendable {
    let method: DraftMethod
    let tokens: [Int32]
    let delay: TimeInterval

    init(method: DraftMethod, tokens: [Int32], delay: TimeInterval = 0) { self.method = method; self.tokens = tokens; self.delay = delay }

    func propose(_ requests: [DraftRequest]) throws -> [Int: [DraftToken]] {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return Dictionary(uniqueKeysWithValues: requests.map { r in (r.sequence, tokens.prefix(r.count).map(DraftToken.deterministic)) })
    }

    func release(_ sequence: Int) {}
}
