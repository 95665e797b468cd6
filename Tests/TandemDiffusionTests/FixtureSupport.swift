import Foundation
import TandemDiffusion
import XCTest

/// Paths to the diffusers-generated fixtures (tools/diffusion_fixtures.py) and comparison helpers.
enum Fixtures {
    static var directory: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
    static func json(_ name: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) }
}

/// Normalized mean squared error: Σ(a − b)² / Σ b².
func nmse(_ a: [Float], _ reference: [Float]) -> Double {
    precondition(a.count == reference.count)
    var err = 0.0, norm = 0.0
    for i in a.indices {
        let d = Double(a[i]) - Double(reference[i])
        err += d * d
        norm += Double(reference[i]) * Double(reference[i])
    }
    return norm == 0 ? err : err / norm
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// A deterministic generator for test data.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float((state >> 40) & 0xFFFF) / 32768 - 1
    }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}
