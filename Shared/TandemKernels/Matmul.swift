import CTandemKernels
import Foundation

/// One matrix of a batched product: `output[t · outputStride + r] = weight.row(r) · x[t]`.
public struct MatmulJob: @unchecked Sendable {
    public var weight: WeightMatrix
    public var output: UnsafeMutablePointer<Float>
    public var outputStride: Int
    public init(weight: WeightMatrix, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        self.weight = weight; self.output = output; self.outputStride = outputStride
    }
}

/// Batched matrix × activation products: every weight row is read once per call, for all tokens.
///
/// The rows of all jobs (e.g. Q, K and V, which share their input) are cut into chunks that the
/// pool's threads claim one at a time. Within a chunk the loop runs tokens outside and rows
/// inside, so the chunk's weights stay in L1 while each activation row is reused for every row.
public enum Matmul {
    public static let rowsPerChunk = 16
    /// Whether decode uses the four-row kernel (`TANDEM_NO_ROW_GROUPS=1` turns it off, to measure).
    nonisolated(unsafe) public static var rowGrouping = ProcessInfo.processInfo.environment["TANDEM_NO_ROW_GROUPS"] == nil

    /// Multiplies every job's weight by the `tokens` rows of `x` (float, row stride `columns`),
    /// whose quantized copy `xq` the caller has already filled when any weight is quantized.
    public static func multiply(_ jobs: [MatmulJob], x: UnsafePointer<Float>, xq: QuantizedActivations?,
                                tokens: Int, pool: ComputePool) {
        var chunkStarts: [(job: Int, row: Int)] = []
        for (j, job) in jobs.enumerated() {
            var r = 0
            while r < job.weight.rows { chunkStarts.append((j, r)); r += rowsPerChunk }
        }
        nonisolated(unsafe) let xp = x
        let starts = chunkStarts
        pool.run(chunkCount: chunkStarts.count) { chunk in
            let (j, start) = starts[chunk]
            let job = jobs[j]
            let end = min(start + rowsPerChunk, job.weight.rows)
            multiplyRows(job, rows: start..<end, x: xp, xq: xq, tokens: tokens)
        }
    }

    /// The rows `rows` of one job, on the calling thread.
    @inline(__always)
    public static func multiplyRows(_ job: MatmulJob, rows: Range<Int>, x: UnsafePointer<Float>, xq: QuantizedActivations?, tokens: Int) {
        let w = job.weight
        if w.format.isQuantized {
            let a = xq!
            let blocks = w.columns / 32
            var t = 0
            // Four tokens at a time: each weight block is unpacked once for all four.
            if w.format == .q4_1 || w.format == .q8_0 {
                var four = (Float(0), Float(0), Float(0), Float(0))
                while t + 4 <= tokens {
                    let q = UnsafePointer(a.values + t * a.columns)
                    let d = UnsafePointer(a.scales + t * a.blocksPerRow)
                    let s = UnsafePointer(a.sums + t * a.blocksPerRow)
                    for r in rows {
                        withUnsafeMutableBytes(of: &four) { raw in
                            let out = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                            if w.format == .q4_1 {
                                ctk_dot4_q4_1_q8(w.row(r), q, Int32(a.columns), d, s, Int32(a.blocksPerRow), Int32(blocks), out)
                            } else {
                                ctk_dot4_q8_0_q8(w.row(r), q, Int32(a.columns), d, Int32(a.blocksPerRow), Int32(blocks), out)
                            }
                        }
                        job.output[t * job.outputStride + r] = four.0
                        job.output[(t + 1) * job.outputStride + r] = four.1
                        job.output[(t + 2) * job.outputStride + r] = four.2
                        job.output[(t + 3) * job.outputStride + r] = four.3
                    }
                    t += 4
                }
            }
            for t in t..<tokens {
                let q = UnsafePointer(a.values + t * a.columns)
                let d = UnsafePointer(a.scales + t * a.blocksPerRow)
                let s = UnsafePointer(a.sums + t * a.blocksPerRow)
                let out = job.output + t * job.outputStride
                var r = rows.lowerBound
                // Q4_1 rows four at a time: each activation block is loaded once for four rows.
                if w.format == .q4_1 && Self.rowGrouping {
                    while r + 4 <= rows.upperBound {
                        ctk_dot_rows4_q4_1_q8(w.row(r), Int32(w.rowBytes), q, d, s, Int32(blocks), out + r)
                        r += 4
                    }
                }
                while r < rows.upperBound {
                    out[r] = QuantizedDot.dot(w.format, w.row(r), blocks: blocks, q, d, s)
                    r += 1
                }
            }
        } else {
            for t in 0..<tokens {
                let out = job.output + t * job.outputStride
                for r in rows { out[r] = QuantizedDot.dotFloat(w.format, w.row(r), columns: w.columns, x + t * w.columns) }
            }
        }
    }

    /// The scalar twin: one thread, scalar dots.
    public static func multiplyScalar(_ job: MatmulJob, x: UnsafePointer<Float>, xq: QuantizedActivations?, tokens: Int) {
        let w = job.weight
        let row = UnsafeMutablePointer<Float>.allocate(capacity: w.columns)
        defer { row.deallocate() }
        for r in 0..<w.rows {
            if w.format.isQuantized {
                let a = xq!
                for t in 0..<tokens {
                    job.output[t * job.outputStride + r] = QuantizedDot.dotScalar(
                        w.format, w.row(r), blocks: w.columns / 32, a.values + t * a.columns,
                        a.scales + t * a.blocksPerRow, a.sums + t * a.blocksPerRow)
                }
            } else {
                w.dequantizeRow(r, into: row)
                for t in 0..<tokens {
                    var s: Float = 0
                    for c in 0..<w.columns { s += row[c] * x[t * w.columns + c] }
                    job.output[t * job.outputStride + r] = s
                }
            }
        }
    }
}
