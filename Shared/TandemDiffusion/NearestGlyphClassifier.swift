/// Reads a rendered glyph by colour-invariant nearest neighbour against reference glyph masks.
///
/// For each reference mask m and each colour channel, the render is fitted by least squares as
/// background + (foreground − background)·m; the class of the mask with the smallest total
/// residual wins. That makes the check blind to the random colours the model was trained with
/// and sensitive only to the shape. `tools/train_glyphs.py` uses the same rule in Python.
public struct NearestGlyphClassifier: Sendable {
    public let cellSize: Int
    public let classes: Int
    /// Centred masks and their squared norms, with the class of each.
    private let masks: [[Double]]
    private let norms: [Double]
    private let labels: [Int]

    /// `atlas`: one row per font, one `cellSize`² cell per class (glyph white on black), as
    /// tools/glyph_atlas.py writes it.
    public init(atlas: RGBImage, cellSize: Int, classes: Int) {
        precondition(atlas.width == cellSize * classes && atlas.height % cellSize == 0)
        self.cellSize = cellSize
        self.classes = classes
        var masks: [[Double]] = [], norms: [Double] = [], labels: [Int] = []
        for row in 0..<(atlas.height / cellSize) {
            for c in 0..<classes {
                var m = [Double](repeating: 0, count: cellSize * cellSize)
                for y in 0..<cellSize {
                    for x in 0..<cellSize {
                        m[y * cellSize + x] = Double(atlas.pixels[((row * cellSize + y) * atlas.width + c * cellSize + x) * 3]) / 255
                    }
                }
                let mean = m.reduce(0, +) / Double(m.count)
                let centred = m.map { $0 - mean }
                let norm = centred.reduce(0) { $0 + $1 * $1 }
                guard norm > 0 else { continue }
                masks.append(centred); norms.append(norm); labels.append(c)
            }
        }
        self.masks = masks; self.norms = norms; self.labels = labels
    }

    /// The class whose reference glyph explains the image best.
    public func classify(_ image: RGBImage) -> Int {
        precondition(image.width == cellSize && image.height == cellSize)
        let n = cellSize * cellSize
        var channels: [[Double]] = []
        var total = 0.0
        for c in 0..<3 {
            let v = (0..<n).map { Double(image.pixels[$0 * 3 + c]) / 255 }
            let mean = v.reduce(0, +) / Double(n)
            let centred = v.map { $0 - mean }
            total += centred.reduce(0) { $0 + $1 * $1 }
            channels.append(centred)
        }
        var best = (residual: Double.infinity, label: -1)
        for (i, m) in masks.enumerated() {
            var explained = 0.0
            for ch in channels {
                var dot = 0.0
                for p in 0..<n { dot += ch[p] * m[p] }
                explained += dot * dot / norms[i]
            }
            let residual = total - explained
            if residual < best.residual { best = (residual, labels[i]) }
        }
        return best.label
    }
}
