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
/// pool's threads claim one at a time. Panel-layout matrices (the model's Q4_1 and Q8_0 weights)
/// go through the panel kernels: a chunk's panels stream from memory once and stay in L1 while
/// every token of the call is multiplied with them.
public enum Matmul {
    /// Chunks per thread that one call aims for: enough that a thread whose core is taken holds up
    /// the others by at most a small share, few enough that claiming them (an atomic shared by the
    /// cores) stays cheap next to the work.
    public static let chunksPerThread = 8
    /// The fewest rows a chunk takes (whole panels, a run of memory long enough to prefetch).
    public static let minimumChunkRows = 32

    /// Rows per chunk for a call over `totalRows` rows on `threads` threads, a multiple of the
    /// panel height.
    public static func chunkRows(totalRows: Int, threads: Int) -> Int {
        let panel = WeightMatrix.panelRows
        let rows = totalRows / max(1, threads * chunksPerThread)
        return max(minimumChunkRows, (rows + panel - 1) / panel * panel)
    }

    /// Multiplies every job's weight by the `tokens` rows of `x` (float, row stride `columns`),
    /// whose quantized copy `xq` the caller has already filled when any weight is quantized.
    public static func multiply(_ jobs: [MatmulJob], x: UnsafePointer<Float>, xq: QuantizedActivations?,
                                tokens: Int, pool: ComputePool) {
        let rowsPerChunk = chunkRows(totalRows: jobs.reduce(0) { $0 + $1.weight.rows }, threads: pool.threadCount)
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

    /// The rows `rows` of one job, on the calling thread (`rows` starts on a panel boundary).
    @inline(__always)
    public static func multiplyRows(_ job: MatmulJob, rows: Range<Int>, x: UnsafePointer<Float>, xq: QuantizedActivations?, tokens: Int) {
        let w = job.weight
        if w.layout == .panels {
            precondition(rows.lowerBound % WeightMatrix.panelRows == 0, "a chunk must start on a panel")
            let a = xq!
            let panels = w.data + rows.lowerBound * w.rowBytes
            let out = job.output + rows.lowerBound
            if w.format == .q4_1 {
                ctk_panels_q4_1_q8(panels, Int32(rows.count), Int32(w.columns / 32), a.values, Int32(a.columns), a.scales, a.sums,
                                   Int32(a.blocksPerRow), Int32(tokens), out, Int32(job.outputStride))
            } else {
                ctk_panels_q8_0_q8(panels, Int32(rows.count), Int32(w.columns / 32), a.values, Int32(a.columns), a.scales,
                                   Int32(a.blocksPerRow), Int32(tokens), out, Int32(job.outputStride))
            }
        } else if w.format.isQuantized {
            let a = xq!
            for t in 0..<tokens {
                let out = job.output + t * job.outputStride
                for r in rows {
                    out[r] = QuantizedDot.dot(w.format, w.row(r), blocks: w.columns / 32, a.values + t * a.columns,
                                              a.scales + t * a.blocksPerRow, a.sums + t * a.blocksPerRow)
                }
            }
        } else {
            for t in 0..<tokens {
                let out = job.output + t * job.outputStride
                for r in rows { out[r] = QuantizedDot.dotFloat(w.format, w.row(r), columns: w.columns, x + t * w.columns) }
            }
        }
    }

    /// The scalar twin: one thread, scalar dots over each row in GGUF layout.
    public static func multiplyScalar(_ job: MatmulJob, x: UnsafePointer<Float>, xq: QuantizedActivations?, tokens: Int) {
        let w = job.weight
        let row = UnsafeMutablePointer<Float>.allocate(capacity: w.columns)
        let rowBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: w.rowBytes)
        defer { row.deallocate(); rowBytes.deallocate() }
        for r in 0..<w.rows {
            if w.format.isQuantized {
                let a = xq!
                let stored: UnsafeRawPointer
                if w.layout == .panels {
                    w.unpackPanelRow(r, into: rowBytes)
                    stored = UnsafeRawPointer(rowBytes)
                } else {
                    stored = w.row(r)
                }
                for t in 0..<tokens {
                    job.output[t * job.outputStride + r] = QuantizedDot.dotScalar(
                        w.format, stored, blocks: w.columns / 32, a.values + t * a.columns,
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
