/// An 8-bit RGB image, rows top to bottom, three bytes per pixel.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "RGB image size mismatch")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// From a model sample: CHW floats in [−1, 1] (clamped), as diffusers' pipelines convert them.
    public init(sample: [Float], width: Int, height: Int) {
        precondition(sample.count == 3 * width * height)
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for c in 0..<3 {
            for p in 0..<plane {
                let v = min(max((sample[c * plane + p] + 1) / 2, 0), 1)
                pixels[p * 3 + c] = UInt8((v * 255).rounded())
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Images side by side (same height), for one PNG of a word or of several samples.
    public static func row(_ images: [RGBImage], gap: Int = 0) -> RGBImage {
        precondition(!images.isEmpty && images.allSatisfy { $0.height == images[0].height })
        let height = images[0].height
        let width = images.map(\.width).reduce(0, +) + gap * (images.count - 1)
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        var x0 = 0
        for image in images {
            for y in 0..<height {
                for x in 0..<image.width {
                    for c in 0..<3 { pixels[(y * width + x0 + x) * 3 + c] = image.pixels[(y * image.width + x) * 3 + c] }
                }
            }
            x0 += image.width + gap
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Each pixel repeated `factor` times in both directions (nearest neighbour), so 16×16 glyphs
    /// are visible in a viewer.
    public func scaled(by factor: Int) -> RGBImage {
        precondition(factor >= 1)
        if factor == 1 { return self }
        let w = width * factor, h = height * factor
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 { out[(y * w + x) * 3 + c] = pixels[((y / factor) * width + x / factor) * 3 + c] }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
