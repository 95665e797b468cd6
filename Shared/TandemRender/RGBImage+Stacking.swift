import TandemDiffusion

extension RGBImage {
    /// Images of one width stacked top to bottom, `gap` white rows apart.
    static func stacked(_ images: [RGBImage], gap: Int = 0) -> RGBImage {
        precondition(!images.isEmpty && images.allSatisfy { $0.width == images[0].width })
        let width = images[0].width
        let white = [UInt8](repeating: 255, count: width * gap * 3)
        var pixels: [UInt8] = []
        for (index, image) in images.enumerated() {
            if index > 0 { pixels += white }
            pixels += image.pixels
        }
        return RGBImage(width: width, height: pixels.count / (width * 3), pixels: pixels)
    }
}
