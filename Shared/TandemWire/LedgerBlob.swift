import Foundation

/// The ledger blob of a DISPATCH: a JSON array of the earlier partials' `data` (strings or null).
enum LedgerBlob {
    static func encode(_ ledger: [String?]) -> [UInt8] {
        let array: [Any] = ledger.map { $0.map { $0 as Any } ?? NSNull() }
        return Array((try? JSONSerialization.data(withJSONObject: array)) ?? Data("[]".utf8))
    }

    static func decode(_ bytes: [UInt8], count: Int) throws(WireError) -> [String?] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [Any], array.count == count else {
            throw .invalidField("ledger", "the ledger blob is not a JSON array of \(count) entries")
        }
        var ledger: [String?] = []
        ledger.reserveCapacity(count)
        for entry in array {
            switch entry {
            case let text as String: ledger.append(text)
            case is NSNull: ledger.append(nil)
            default: throw .invalidField("ledger", "ledger entries are strings or null")
            }
        }
        return ledger
    }
}
