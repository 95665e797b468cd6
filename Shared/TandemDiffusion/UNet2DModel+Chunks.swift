import Dispatch
import Foundation

extension UNet2DModel {
    /// A batch larger than `samplesPerChunk`, chunk by chunk. With several threads the chunks run
    /// side by side, one thread each: a whole forward pass per thread and no hand-off per layer,
    /// where splitting each convolution's tiles synchronises ~40 times per pass (and a 4×4 layer
    /// of a small batch is a single tile).
    func forwardInChunks(sample: [Float], batch: Int, timesteps: [Double], classLabels: [Int]?, scalar: Bool) throws -> [Float] {
        if let labels = classLabels, labels.count != batch { throw UNet2DLoadError.classLabelsRequired }
        let inputPerSample = sample.count / batch
        let outputPerSample = config.outChannels * config.sampleSize * config.sampleSize
        // The chunking must not depend on the thread count: the kernels a chunk takes (Winograd or
        // tiled) depend on its size, so chunks sized by threads made a render's image depend on
        // what it shared its steps with (RenderServiceTests caught one pixel off by one).
        let size = maxSamplesPerChunk
        let chunks = stride(from: 0, to: batch, by: size).map { $0..<min(batch, $0 + size) }
        @Sendable func run(_ chunk: Range<Int>, on unet: UNet2DModel) throws -> [Float] {
            try unet.forward(sample: Array(sample[(chunk.lowerBound * inputPerSample)..<(chunk.upperBound * inputPerSample)]),
                             batch: chunk.count, timesteps: Array(timesteps[chunk]), classLabels: classLabels.map { Array($0[chunk]) },
                             scalar: scalar)
        }
        guard threads > 1 && chunks.count > 1 else {
            var out: [Float] = []
            out.reserveCapacity(batch * outputPerSample)
            for chunk in chunks { out += try run(chunk, on: self) }
            return out
        }
        let single = { var unet = self; unet.threads = 1; return unet }()
        let results = ChunkResults(count: chunks.count)
        let workers = min(threads, chunks.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: chunks.count, by: workers) {
                results.store(index, Result { try run(chunks[index], on: single) })
            }
        }
        var out: [Float] = []
        out.reserveCapacity(batch * outputPerSample)
        for result in results.all() { out += try result.get() }
        return out
    }
}

/// Chunk outputs written by several threads; the lock guards the array, each slot is written once.
private final class ChunkResults: @unchecked Sendable {
    private var slots: [Result<[Float], Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ index: Int, _ result: Result<[Float], Error>) { lock.withLock { slots[index] = result } }

    func all() -> [Result<[Float], Error>] { lock.withLock { slots.map { $0! } } }
}
