import CPNG
import Foundation

/// PNG encoding and decoding through libpng's simplified API (`png_image_*`), which reports
/// failures as return values instead of longjmp, so it is safe to call from Swift.
public enum PNGCodec {
    public static func encode(_ image: RGBImage) throws -> Data {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = UInt32(PNG_FORMAT_RGB)
        var size: png_alloc_size_t = 0
        let stride = Int32(image.width * 3)
        let ok = image.pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&png, nil, &size, 0, raw.baseAddress, stride, nil)
        }
        guard ok != 0, size > 0 else { throw PNGError.libpng(message(png)) }
        var out = Data(count: Int(size))
        let written = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { raw in
                png_image_write_to_memory(&png, dst.baseAddress, &size, 0, raw.baseAddress, stride, nil)
            }
        }
        png_image_free(&png)
        guard written != 0 else { throw PNGError.libpng(message(png)) }
        out.count = Int(size)
        return out
    }

    /// Decodes any PNG libpng reads into 8-bit RGB (grey and palette images are expanded).
    public static func decode(_ data: Data) throws -> RGBImage {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw PNGError.libpng(message(png)) }
        png.format = UInt32(PNG_FORMAT_RGB)
        let width = Int(png.width), height = Int(png.height)
        guard width > 0, height > 0, width * height <= 1 << 26 else {
            png_image_free(&png)
            throw PNGError.libpng("image of \(width)×\(height) refused")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(width * 3), nil) }
        guard finished != 0 else { throw PNGError.libpng(message(png)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func message(_ png: png_image) -> String {
        withUnsafeBytes(of: png.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

public enum PNGError: Error, Equatable, CustomStringConvertible {
    case libpng(String)
    public var description: String {
        switch self { case .libpng(let m): "PNG: \(m)" }
    }
}
