extension JobWrite {
    /// Why PostgreSQL would refuse this write whatever the rest of its batch, or `nil`.
    ///
    /// Checked before sending so one bad write does not cost a failed transaction: a NUL character
    /// cannot be stored in `jsonb` (text columns get U+FFFD instead, see `PostgresArrayLiteral`).
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
}
