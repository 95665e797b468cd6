import Foundation
import XCTest

/// Polls `condition` until it holds or `timeout` passes; fails the test with `message` (and the
/// last error the condition threw, if any) on timeout. A throw counts as "not yet".
@discardableResult
public func eventually(
    timeout: TimeInterval, interval: TimeInterval = 0.05, _ message: @autoclosure () -> String,
    file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool
) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    var lastError: Error?
    repeat {
        do {
            if try condition() { return true }
        } catch {
            lastError = error
        }
        Thread.sleep(forTimeInterval: interval)
    } while Date() < deadline
    XCTFail("timed out after \(timeout) s: \(message())\(lastError.map { " (last error: \($0))" } ?? "")", file: file, line: line)
    return false
}
