import Foundation
import TandemClient
import TandemDiffusion
import TandemStore
import TestSupport
import XCTest

/// The diffusion service behind the router: renders equal the in-process renderer's, batching
/// across requests changes no image, progress streams per step, cancellation stops a render.
final class RenderServiceTests: ServiceTestCase {
    private var router: LocalRouter!
    private var client: RouterClient!

    override func setUpWithError() throws {
        guard let model = GlyphRenderer.defaultModelDirectory else {
            throw TestSupportError("the glyph model is missing from Shared/TandemDiffusion/Resources/glyphs16 (trained by tools/train_glyphs.py)")
        }
        try super.setUpWithError()
        router = try startRouter()
        _ = try startWorker(router, "tandem-diffusion", capacity: 8, name: "render", extraArguments: ["--model", model.path])
        client = try RouterClient(configuration: .init(routerEndpoint: router.clientEndpoint, replyTimeoutMilliseconds: 10_000))
        let client = self.client!
        eventually(timeout: 20, "the diffusion worker registers") {
            ((try client.query(.workers) as? [String: Any])?["workers"] as? [Any])?.count == 1
        }
    }

    /// What the in-process renderer draws for the same request, laid out as the service does.
    private func expected(_ text: String, steps: Int, seed: UInt64, count: Int) throws -> RGBImage {
        let renderer = try GlyphRenderer()
        let glyphs = try renderer.render(Array(text), options: .init(solver: .dpmpp2m, steps: steps, guidance: 3, seed: seed, count: count))
        // `render` groups by character; the service lays out one row per sample.
        let rows = (0..<count).map { sample in RGBImage.row(glyphs.map { $0[sample] }, gap: 2) }
        let width = rows[0].width
        var pixels: [UInt8] = []
        for (index, row) in rows.enumerated() {
            if index > 0 { pixels += [UInt8](repeating: 255, count: width * 2 * 3) }
            pixels += row.pixels
        }
        return RGBImage(width: width, height: pixels.count / (width * 3), pixels: pixels)
    }

    private func render(_ text: String, steps: Int, seed: UInt64, count: Int) throws -> UUID {
        try client.submit(kind: "render", params: #"{"text":"\#(text)","steps":\#(steps),"seed":\#(seed),"count":\#(count),"scale":1}"#)
    }

    func testRenderMatchesTheInProcessRendererAndStreamsProgress() throws {
        let job = try render("A7", steps: 6, seed: 11, count: 2)
        var steps: [Int] = []
        let final = try client.follow(job, timeoutMilliseconds: 60_000) { partial in
            if let data = partial.data, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] {
                steps.append(object["step"] as? Int ?? -1)
            }
        }
        XCTAssertEqual(final.state, "succeeded", final.error ?? "")
        XCTAssertEqual(steps, Array(1...6))
        let png = try XCTUnwrap(final.blobs.first)
        XCTAssertEqual(try PNGCodec.decode(Data(png)), try expected("A7", steps: 6, seed: 11, count: 2))
        let stored = try JobStore(configuration: StoreConfiguration(databaseURL: database.url, schema: database.schema)).job(id: job)
        XCTAssertEqual(stored?.resultBytes, png, "the PNG is stored with the job")
    }

    func testConcurrentRendersShareStepsWithoutChangingImages() throws {
        let requests: [(String, Int, UInt64)] = [("B", 4, 1), ("C9", 8, 2), ("XYZ", 5, 3)]
        let jobs = try requests.map { try render($0.0, steps: $0.1, seed: $0.2, count: 1) }
        for (job, request) in zip(jobs, requests) {
            let final = try client.follow(job, timeoutMilliseconds: 60_000)
            XCTAssertEqual(final.state, "succeeded", final.error ?? "")
            XCTAssertEqual(try PNGCodec.decode(Data(try XCTUnwrap(final.blobs.first))), try expected(request.0, steps: request.1, seed: request.2, count: 1))
        }
    }

    func testCancelStopsARenderBetweenSteps() throws {
        let job = try render("QQQQQQQQ", steps: 1000, seed: 5, count: 8)
        var sawProgress = false
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [endpoint = router.clientEndpoint] in
            let canceller = try? RouterClient(configuration: .init(routerEndpoint: endpoint))
            _ = try? canceller?.cancel(job)
        }
        let final = try client.follow(job, timeoutMilliseconds: 30_000) { _ in sawProgress = true }
        XCTAssertEqual(final.state, "cancelled")
        XCTAssertTrue(sawProgress)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "cancellation stopped the 1000-step render")
    }

    func testBadParamsFailClearly() throws {
        let job = try client.submit(kind: "render", params: #"{"text":"a$"}"#)
        let final = try client.follow(job, timeoutMilliseconds: 10_000)
        XCTAssertEqual(final.state, "failed")
        XCTAssertEqual(final.code, "invalid_params")
    }
}
