import Foundation
import TandemService

/// The `echo` service: streams its text back in chunks, for tests, demos and router benchmarks.
///
/// Params: `text` (default ""), `chunks` partials to stream (default 0), `delay_ms` before each
/// chunk and before the final (default 0), and `fail` = `"retryable"` or `"fatal"` to fail instead.
/// It is the router benchmark's no-op worker, so it reads params with `JSONSerialization` rather
/// than `JSONDecoder`, which measured several times slower per job on Linux.
public struct EchoHandler: JobHandler {
    public init() {}

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        // When the job started here, for the router benchmark's dispatch latency (same host clock).
        let startedMicroseconds = Int64(Date().timeIntervalSince1970 * 1e6)
        guard let params = (try? JSONSerialization.jsonObject(with: Data(job.params.utf8))) as? [String: Any] else {
            throw JobFailure(code: "invalid_params", message: "params must be a JSON object", retryable: false)
        }
        let text = params["text"] as? String ?? ""
        let chunks = max(0, min(params["chunks"] as? Int ?? 0, 100_000))
        let delay = max(0, params["delay_ms"] as? Int ?? 0)
        let quotedText = Self.quoted(text)
        for index in 0..<chunks {
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            try Task.checkCancellation()
            context.emit(data: #"{"chunk":\#(index),"text":\#(quotedText)}"#)
        }
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        try Task.checkCancellation()
        switch params["fail"] as? String {
        case "retryable": throw JobFailure(code: "worker_failed", message: "asked to fail (retryable)", retryable: true)
        case "fatal": throw JobFailure(code: "worker_failed", message: "asked to fail", retryable: false)
        default: break
        }
        return JobOutcome(result: #"{"attempt":\#(job.attempt),"chunks":\#(chunks),"echo":\#(quotedText),"started_us":\#(startedMicroseconds)}"#)
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
