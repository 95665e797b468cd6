import Foundation

/// The subset of diffusers' `UNet2DModel` configuration (`config.json`) that Tandem runs.
///
/// Missing keys take diffusers' defaults. Values Tandem does not implement (fourier or learned
/// time embeddings, scale-shift resnets, resnet up/down sampling, skip blocks, activations other
/// than SiLU …) are refused by `init(json:)` with an `UNet2DConfigError` naming the key, so an
/// unsupported checkpoint fails at load time instead of producing wrong pixels.
public struct UNet2DConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable { case down = "DownBlock2D", attention = "AttnDownBlock2D" }
    public enum UpBlock: String, Sendable { case up = "UpBlock2D", attention = "AttnUpBlock2D" }

    public var sampleSize: Int
    public var inChannels: Int
    public var outChannels: Int
    public var centerInputSample: Bool
    public var timeEmbeddingDim: Int
    public var freqShift: Double
    public var flipSinToCos: Bool
    public var downBlockTypes: [DownBlock]
    public var upBlockTypes: [UpBlock]
    public var hasMidBlock: Bool
    public var midBlockAttention: Bool
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var midBlockScaleFactor: Float
    /// Channels per attention head; nil means one head over all channels (diffusers' `None`).
    public var attentionHeadDim: Int?
    public var normNumGroups: Int
    public var attentionNormNumGroups: Int?
    public var normEps: Float
    /// Number of class embeddings (`num_class_embeds`); nil for an unconditional model.
    public var numClassEmbeds: Int?

    public init(contentsOf url: URL) throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let json = object as? [String: Any] else { throw UNet2DConfigError.notAnObject }
        try self.init(json: json)
    }

    public init(json: [String: Any]) throws {
        func value<T>(_ key: String, _ fallback: T) throws -> T {
            guard let raw = json[key], !(raw is NSNull) else { return fallback }
            if T.self == Double.self, let n = raw as? NSNumber { return n.doubleValue as! T }
            if T.self == Float.self, let n = raw as? NSNumber { return n.floatValue as! T }
            guard let typed = raw as? T else { throw UNet2DConfigError.badValue(key: key, value: "\(raw)") }
            return typed
        }
        func optionalInt(_ key: String) throws -> Int? {
            guard let raw = json[key], !(raw is NSNull) else { return nil }
            guard let n = raw as? Int else { throw UNet2DConfigError.badValue(key: key, value: "\(raw)") }
            return n
        }
        func require(_ key: String, _ allowed: [String], default fallback: String?) throws {
            let raw = json[key]
            let found: String? = (raw == nil || raw is NSNull) ? fallback : raw as? String
            guard let found, allowed.contains(found) else {
                throw UNet2DConfigError.unsupported(key: key, value: raw.map { "\($0)" } ?? "null", supported: allowed)
            }
        }

        if let size = json["sample_size"] as? [Int] {
            guard size.count == 2, size[0] == size[1] else { throw UNet2DConfigError.unsupported(key: "sample_size", value: "\(size)", supported: ["square sizes"]) }
            sampleSize = size[0]
        } else {
            sampleSize = try value("sample_size", 32)
        }
        inChannels = try value("in_channels", 3)
        outChannels = try value("out_channels", 3)
        centerInputSample = try value("center_input_sample", false)
        freqShift = try value("freq_shift", 0.0)
        flipSinToCos = try value("flip_sin_to_cos", true)
        blockOutChannels = try value("block_out_channels", [224, 448, 672, 896])
        layersPerBlock = try value("layers_per_block", 2)
        midBlockScaleFactor = try value("mid_block_scale_factor", Float(1))
        normNumGroups = try value("norm_num_groups", 32)
        attentionNormNumGroups = try optionalInt("attn_norm_num_groups")
        normEps = try value("norm_eps", Float(1e-5))
        numClassEmbeds = try optionalInt("num_class_embeds")
        timeEmbeddingDim = try optionalInt("time_embedding_dim") ?? blockOutChannels[0] * 4
        if json.keys.contains("attention_head_dim") {
            attentionHeadDim = try optionalInt("attention_head_dim")
        } else {
            attentionHeadDim = 8
        }

        try require("time_embedding_type", ["positional"], default: "positional")
        try require("act_fn", ["silu", "swish"], default: "silu")
        try require("resnet_time_scale_shift", ["default"], default: "default")
        try require("downsample_type", ["conv"], default: "conv")
        try require("upsample_type", ["conv"], default: "conv")
        switch json["mid_block_type"] {
        case nil: hasMidBlock = true
        case is NSNull: hasMidBlock = false
        case let name as String where name == "UNetMidBlock2D": hasMidBlock = true
        case let other?: throw UNet2DConfigError.unsupported(key: "mid_block_type", value: "\(other)", supported: ["UNetMidBlock2D", "null"])
        }
        midBlockAttention = try value("add_attention", true)
        if let kind = json["class_embed_type"], !(kind is NSNull) {
            throw UNet2DConfigError.unsupported(key: "class_embed_type", value: "\(kind)", supported: ["null (an nn.Embedding of num_class_embeds)"])
        }
        let padding: Int = try value("downsample_padding", 1)
        guard padding == 1 else { throw UNet2DConfigError.unsupported(key: "downsample_padding", value: "\(padding)", supported: ["1"]) }

        let downNames: [String] = try value("down_block_types", ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"])
        let upNames: [String] = try value("up_block_types", ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"])
        downBlockTypes = try downNames.map {
            guard let block = DownBlock(rawValue: $0) else { throw UNet2DConfigError.unsupported(key: "down_block_types", value: $0, supported: ["DownBlock2D", "AttnDownBlock2D"]) }
            return block
        }
        upBlockTypes = try upNames.map {
            guard let block = UpBlock(rawValue: $0) else { throw UNet2DConfigError.unsupported(key: "up_block_types", value: $0, supported: ["UpBlock2D", "AttnUpBlock2D"]) }
            return block
        }
        guard downBlockTypes.count == blockOutChannels.count, upBlockTypes.count == blockOutChannels.count, !blockOutChannels.isEmpty else {
            throw UNet2DConfigError.inconsistent("down_block_types, up_block_types and block_out_channels must have the same length")
        }
        for channels in blockOutChannels + [timeEmbeddingDim] where channels <= 0 {
            throw UNet2DConfigError.inconsistent("channel counts must be positive")
        }
        for channels in blockOutChannels where channels % normNumGroups != 0 {
            throw UNet2DConfigError.inconsistent("block_out_channels \(channels) is not divisible by norm_num_groups \(normNumGroups)")
        }
        if let head = attentionHeadDim {
            for channels in blockOutChannels where channels % head != 0 {
                throw UNet2DConfigError.inconsistent("block_out_channels \(channels) is not divisible by attention_head_dim \(head)")
            }
        }
        let downsamplings = blockOutChannels.count - 1
        guard sampleSize > 0, sampleSize % (1 << downsamplings) == 0 else {
            throw UNet2DConfigError.inconsistent("sample_size \(sampleSize) is not divisible by 2^\(downsamplings)")
        }
    }
}

public enum UNet2DConfigError: Error, Equatable, CustomStringConvertible {
    case notAnObject
    case badValue(key: String, value: String)
    case unsupported(key: String, value: String, supported: [String])
    case inconsistent(String)

    public var description: String {
        switch self {
        case .notAnObject: "UNet2DModel config: not a JSON object"
        case .badValue(let key, let value): "UNet2DModel config: \(key) has a value of the wrong type: \(value)"
        case .unsupported(let key, let value, let supported):
            "UNet2DModel config: \(key) = \(value) is not supported (supported: \(supported.joined(separator: ", ")))"
        case .inconsistent(let why): "UNet2DModel config: \(why)"
        }
    }
}
