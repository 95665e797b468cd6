import Foundation
import TandemService

/// The `echo` service: streams its text back in chunks, for tests, demos and router benchmarks.
///
/// Params: `text` (default ""), `chunks` partials to stream (default 0), `delay_ms` before each
/// chunk and before the final (default 0), and `fail` = `"retryable"` or `"fatal"` to fail instead.
public struct EchoHandler: JobHandler {
    struct Params: Decodable {
        var text: String?
        var chunks: Int?
        var delay_ms: Int?
        var fail: String?
    }

    public init() {}

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        let params = try job.decodeParams(Params.self)
        let text = params.text ?? ""
        let chunks = max(0, min(params.chunks ?? 0, 100_000))
        let delay = max(0, params.delay_ms ?? 0)
        for index in 0..<chunks {
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            try Task.checkCancellation()
            context.emit(data: JSONString.object(["chunk": index, "text": text]))
        }
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        try Task.checkCancellation()
        switch params.fail {
        case "retryable": throw JobFailure(code: "worker_failed", message: "asked to fail (retryable)", retryable: true)
        case "fatal": throw JobFailure(code: "worker_failed", message: "asked to fail", retryable: false)
        default: break
        }
        return JobOutcome(result: JSONString.object(["echo": text, "chunks": chunks, "attempt": Int(job.attempt)]))
    }
}

enum JSONString {
    static func object(_ value: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
