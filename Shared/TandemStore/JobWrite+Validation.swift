extension JobWrite {
    /// Why PostgreSQL would refuse this write whatever the rest of its batch, or `nil`.
    ///
    /// Checked before sending so one bad write does not cost a failed transaction: a NUL character
    /// cannot be stored in `jsonb` (text columns get U+FFFD instead, see `PostgresBinaryArray`).
    var problem: String? {
        switch self {
        case .upsert(let row):
            if row.params.utf8.contains(0) { return "params contain a NUL character" }
            if row.result?.utf8.contains(0) == true { return "result contains a NUL character" }
        case .event(let event):
            if event.detail?.utf8.contains(0) == true { return "event detail contains a NUL character" }
        case .output(let output):
            if output.data?.utf8.contains(0) == true { return "output data contains a NUL character" }
        }
        return nil
    }

    /// Roughly the bytes the write adds to a batch: its text and blobs plus a fixed share for the
    /// rest. Cheap (`utf8.count` of a native string is O(1)); only for capping batch sizes.
    var approximateBytes: Int {
        switch self {
        case .upsert(let row):
            return 128 + row.kind.utf8.count + row.service.utf8.count + row.params.utf8.count
                + (row.result?.utf8.count ?? 0) + (row.resultBytes?.count ?? 0) + (row.error?.utf8.count ?? 0)
        case .event(let event):
            return 64 + event.kind.utf8.count + (event.detail?.utf8.count ?? 0)
        case .output(let output):
            return 48 + (output.data?.utf8.count ?? 0) + (output.bytes?.count ?? 0)
        }
    }
}
