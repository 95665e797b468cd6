import Foundation
import Synchronization
import TandemDiffusion
import TandemService

/// The `render` job: draws `text` with the glyph model and returns a PNG (one row per sample).
///
/// Partials report progress after every step: `{"step": k, "steps": n}`. The result is
/// `{"width", "height", "glyphs", "solver", "steps", "guidance", "seed", "seconds"}` with the PNG
/// as the FINAL's blob.
public struct RenderHandler: JobHandler {
    let engine: RenderEngine

    public init(engine: RenderEngine) {
        self.engine = engine
    }

    public func run(_ job: DispatchedJob, context: JobContext) async throws -> JobOutcome {
        let parameters = try RenderParameters(json: job.params)
        let labels: [Int]
        do {
            // Character-major, as `GlyphRenderer.render` numbers its noise streams, so the service
            // draws exactly what the in-process renderer draws.
            let perCharacter = try parameters.characters.map { try engine.renderer.classLabel(for: $0) }
            labels = perCharacter.flatMap { Array(repeating: $0, count: parameters.count) }
        } catch {
            throw JobFailure(code: "invalid_params", message: "\(error)", retryable: false)
        }
        let started = ContinuousClock.now
        let ticket = Mutex<Int?>(nil)
        let images: [RGBImage] = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let submitted = engine.submit(RenderEngine.Request(
                    labels: labels, parameters: parameters,
                    progress: { done, total in context.emit(data: #"{"step":\#(done),"steps":\#(total)}"#) },
                    completion: { continuation.resume(with: $0) }))
                ticket.withLock { $0 = submitted }
                // Cancelled before the ticket was known: `onCancel` found nothing to cancel.
                if Task.isCancelled { engine.cancel(submitted) }
            }
        } onCancel: {
            if let submitted = ticket.withLock({ $0 }) { engine.cancel(submitted) }
        }
        let columns = parameters.characters.count
        let rows = (0..<parameters.count).map { sample in
            RGBImage.row((0..<columns).map { images[$0 * parameters.count + sample] }, gap: 2)
        }
        let png = try PNGCodec.encode(RGBImage.stacked(rows, gap: 2).scaled(by: parameters.scale))
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let size = engine.renderer.unet.config.sampleSize
        let width = (columns * size + (columns - 1) * 2) * parameters.scale
        let height = (parameters.count * size + (parameters.count - 1) * 2) * parameters.scale
        return JobOutcome(
            result: #"{"width":\#(width),"height":\#(height),"glyphs":\#(images.count),"solver":"\#(parameters.solver.rawValue)","steps":\#(parameters.steps),"guidance":\#(parameters.guidance),"seed":\#(parameters.seed),"seconds":\#(String(format: "%.3f", seconds))}"#,
            blobs: [Array(png)])
    }
}
