import CDiffusionKernels
import Foundation

/// diffusers' class-conditional `UNet2DModel` on CPU, read from `config.json` and
/// `diffusion_pytorch_model.safetensors` (or `model.safetensors`) in diffusers' tensor naming.
///
/// One `forward` call runs the whole batch; every sample has its own timestep and class label, so
/// requests at different steps of different solvers share one UNet call.
///
///     let unet = try UNet2DModel(directory: modelURL)
///     let eps = try unet.forward(sample: x, batch: 2, timesteps: [999, 499], classLabels: [10, 36])
public struct UNet2DModel: Sendable {
    public struct DownBlock: Sendable {
        public let resnets: [ResnetBlock2D]
        public let attentions: [AttentionBlock]
        public let downsampler: Conv2D?
    }

    public struct MidBlock: Sendable {
        public let resnets: [ResnetBlock2D]
        public let attention: AttentionBlock?
    }

    public struct UpBlock: Sendable {
        public let resnets: [ResnetBlock2D]
        public let attentions: [AttentionBlock]
        public let upsampler: Conv2D?
    }

    public let config: UNet2DConfig
    public let convIn: Conv2D
    public let timeLinear1: Linear
    public let timeLinear2: Linear
    /// [numClassEmbeds][timeEmbeddingDim], nil for an unconditional model.
    public let classEmbedding: [Float]?
    public let downBlocks: [DownBlock]
    public let midBlock: MidBlock?
    public let upBlocks: [UpBlock]
    public let normOut: GroupNorm
    public let convOut: Conv2D
    /// Threads for the convolutions (they split output tiles); 1 keeps everything on the caller's thread.
    public var threads: Int = 1
    /// Larger batches run in chunks of this many samples, so that a layer's activations stay in
    /// L2 while the convolution's tiles revisit them (a tile reads every input channel: with a
    /// batch of 32 at 16×16 the input is 3 MB and each tile's reads missed to L3).
    public var maxSamplesPerChunk: Int = 8

    /// Loads `config.json` and the weights file from a diffusers model folder.
    public init(directory: URL) throws {
        let config = try UNet2DConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let candidates = ["diffusion_pytorch_model.safetensors", "model.safetensors"]
        guard let weightsURL = candidates.map({ directory.appendingPathComponent($0) })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw UNet2DLoadError.missingWeights(directory.path)
        }
        try self.init(config: config, weights: SafetensorsFile(contentsOf: weightsURL))
    }

    public init(config: UNet2DConfig, weights file: SafetensorsFile) throws {
        _ = UNet2DModel.keepActivationsInHeap
        self.config = config
        let groups = config.normNumGroups, eps = config.normEps, temb = config.timeEmbeddingDim
        let channels = config.blockOutChannels

        func conv(_ prefix: String, _ cin: Int, _ cout: Int, kernel: Int = 3, stride: Int = 1) throws -> Conv2D {
            Conv2D(inChannels: cin, outChannels: cout, kernelSize: kernel, stride: stride, padding: kernel / 2,
                   weight: try file.tensor(prefix + ".weight", shape: [cout, cin, kernel, kernel]),
                   bias: try file.tensor(prefix + ".bias", shape: [cout]))
        }
        func norm(_ prefix: String, _ c: Int, groups: Int) throws -> GroupNorm {
            GroupNorm(groups: groups, channels: c, eps: eps,
                      weight: try file.tensor(prefix + ".weight", shape: [c]), bias: try file.tensor(prefix + ".bias", shape: [c]))
        }
        func linear(_ prefix: String, _ fin: Int, _ fout: Int) throws -> Linear {
            Linear(inFeatures: fin, outFeatures: fout, weight: try file.tensor(prefix + ".weight", shape: [fout, fin]),
                   bias: try file.tensor(prefix + ".bias", shape: [fout]))
        }
        /// A linear projection as a pointwise convolution over the whole batch.
        func projection(_ prefix: String, _ c: Int) throws -> Conv2D {
            let w = try file.tensor(prefix + ".weight")
            guard w.shape == [c, c] || w.shape == [c, c, 1, 1] else {
                throw SafetensorsError.shapeMismatch(name: prefix + ".weight", expected: [c, c], found: w.shape)
            }
            return Conv2D(inChannels: c, outChannels: c, kernelSize: 1, padding: 0, weight: w.values,
                          bias: try file.tensor(prefix + ".bias", shape: [c]))
        }
        func resnet(_ prefix: String, _ cin: Int, _ cout: Int, scale: Float = 1) throws -> ResnetBlock2D {
            ResnetBlock2D(norm1: try norm(prefix + ".norm1", cin, groups: groups), conv1: try conv(prefix + ".conv1", cin, cout),
                          timeProjection: try linear(prefix + ".time_emb_proj", temb, cout),
                          norm2: try norm(prefix + ".norm2", cout, groups: groups), conv2: try conv(prefix + ".conv2", cout, cout),
                          shortcut: cin == cout ? nil : try conv(prefix + ".conv_shortcut", cin, cout, kernel: 1),
                          outputScaleFactor: scale)
        }
        /// Accepts both the current (`to_q` … `to_out.0`) and the older (`query` … `proj_attn`) names.
        func attention(_ prefix: String, _ c: Int, groups: Int, scale: Float = 1) throws -> AttentionBlock {
            let modern = file.entries[prefix + ".to_q.weight"] != nil
            let names = modern ? ["to_q", "to_k", "to_v", "to_out.0"] : ["query", "key", "value", "proj_attn"]
            let heads = config.attentionHeadDim.map { c / $0 } ?? 1
            return AttentionBlock(channels: c, heads: heads, norm: try norm(prefix + ".group_norm", c, groups: groups),
                                  query: try projection("\(prefix).\(names[0])", c), key: try projection("\(prefix).\(names[1])", c),
                                  value: try projection("\(prefix).\(names[2])", c), output: try projection("\(prefix).\(names[3])", c),
                                  rescaleOutputFactor: scale)
        }

        convIn = try conv("conv_in", config.inChannels, channels[0])
        timeLinear1 = try linear("time_embedding.linear_1", channels[0], temb)
        timeLinear2 = try linear("time_embedding.linear_2", temb, temb)
        if let classes = config.numClassEmbeds {
            classEmbedding = try file.tensor("class_embedding.weight", shape: [classes, temb])
        } else {
            classEmbedding = nil
        }

        var down: [DownBlock] = []
        var output = channels[0]
        for (i, kind) in config.downBlockTypes.enumerated() {
            let input = output
            output = channels[i]
            var resnets: [ResnetBlock2D] = [], attentions: [AttentionBlock] = []
            for j in 0..<config.layersPerBlock {
                resnets.append(try resnet("down_blocks.\(i).resnets.\(j)", j == 0 ? input : output, output))
                if kind == .attention { attentions.append(try attention("down_blocks.\(i).attentions.\(j)", output, groups: groups)) }
            }
            let last = i == channels.count - 1
            down.append(DownBlock(resnets: resnets, attentions: attentions,
                                  downsampler: last ? nil : try conv("down_blocks.\(i).downsamplers.0.conv", output, output, stride: 2)))
        }
        downBlocks = down

        if config.hasMidBlock {
            let c = channels[channels.count - 1], scale = config.midBlockScaleFactor
            midBlock = MidBlock(
                resnets: [try resnet("mid_block.resnets.0", c, c, scale: scale), try resnet("mid_block.resnets.1", c, c, scale: scale)],
                attention: config.midBlockAttention
                    ? try attention("mid_block.attentions.0", c, groups: config.attentionNormNumGroups ?? groups, scale: scale) : nil)
        } else {
            midBlock = nil
        }

        var up: [UpBlock] = []
        let reversed = Array(channels.reversed())
        output = reversed[0]
        for (i, kind) in config.upBlockTypes.enumerated() {
            let previous = output
            output = reversed[i]
            let input = reversed[min(i + 1, channels.count - 1)]
            let layers = config.layersPerBlock + 1
            var resnets: [ResnetBlock2D] = [], attentions: [AttentionBlock] = []
            for j in 0..<layers {
                let skip = j == layers - 1 ? input : output
                let resnetIn = j == 0 ? previous : output
                resnets.append(try resnet("up_blocks.\(i).resnets.\(j)", resnetIn + skip, output))
                if kind == .attention { attentions.append(try attention("up_blocks.\(i).attentions.\(j)", output, groups: groups)) }
            }
            let last = i == channels.count - 1
            up.append(UpBlock(resnets: resnets, attentions: attentions,
                              upsampler: last ? nil : try conv("up_blocks.\(i).upsamplers.0.conv", output, output)))
        }
        upBlocks = up
        normOut = try norm("conv_norm_out", channels[0], groups: groups)
        convOut = try conv("conv_out", channels[0], config.outChannels)
    }

    /// Every layer allocates its output (0.1–1 MB at 16×16 and batch 8) and the previous one is freed.
    /// glibc maps blocks over its mmap threshold afresh each time, so every layer paid page faults
    /// and the kernel's zeroing (80,000 faults in a 64-image benchmark, ~8 % of the CPU time);
    /// raising the thresholds keeps those blocks in the heap for reuse. Process-wide, set once.
    private static let keepActivationsInHeap: Void = tandem_keep_large_blocks_in_heap()

    /// diffusers' `get_timestep_embedding`, in float32 arithmetic as torch does it.
    public func timestepEmbedding(_ timesteps: [Double]) -> [Float] {
        let dim = config.blockOutChannels[0], half = dim / 2
        var out = [Float](repeating: 0, count: timesteps.count * dim)
        let logPeriod = Float(-Foundation.log(10000.0))
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let exponent = logPeriod * Float(i) / Float(Double(half) - config.freqShift)
                let argument = Float(t) * Foundation.exp(exponent)
                let s = Foundation.sin(argument), c = Foundation.cos(argument)
                if config.flipSinToCos {
                    out[b * dim + i] = c; out[b * dim + half + i] = s
                } else {
                    out[b * dim + i] = s; out[b * dim + half + i] = c
                }
            }
        }
        return out
    }

    /// The conditioning vector per sample: time MLP plus class embedding, [batch][timeEmbeddingDim].
    public func conditioning(timesteps: [Double], classLabels: [Int]?) throws -> [Float] {
        let batch = timesteps.count, temb = config.timeEmbeddingDim
        var hidden = timeLinear1.forward(timestepEmbedding(timesteps), rows: batch)
        for i in hidden.indices { hidden[i] = silu(hidden[i]) }
        var emb = timeLinear2.forward(hidden, rows: batch)
        if let table = classEmbedding, let classes = config.numClassEmbeds {
            guard let labels = classLabels, labels.count == batch else { throw UNet2DLoadError.classLabelsRequired }
            for (b, label) in labels.enumerated() {
                guard (0..<classes).contains(label) else { throw UNet2DLoadError.classOutOfRange(label, classes) }
                for i in 0..<temb { emb[b * temb + i] += table[label * temb + i] }
            }
        } else if classLabels != nil {
            throw UNet2DLoadError.notClassConditional
        }
        return emb
    }

    /// Runs the UNet. `sample` is NCHW with `batch` samples of `inChannels × sampleSize²`;
    /// `timesteps` and `classLabels` have one entry per sample. Returns NCHW.
    public func forward(sample: [Float], batch: Int, timesteps: [Double], classLabels: [Int]?, scalar: Bool = false) throws -> [Float] {
        let size = config.sampleSize
        guard sample.count == batch * config.inChannels * size * size, timesteps.count == batch else {
            throw UNet2DLoadError.badInput("sample of \(sample.count) values and \(timesteps.count) timesteps for batch \(batch)")
        }
        if batch > maxSamplesPerChunk {
            return try forwardInChunks(sample: sample, batch: batch, timesteps: timesteps, classLabels: classLabels, scalar: scalar)
        }
        var input = sample
        if config.centerInputSample { for i in input.indices { input[i] = 2 * input[i] - 1 } }
        let emb = try OpProfile.shared.measure(.embedding) {
            var emb = try conditioning(timesteps: timesteps, classLabels: classLabels)
            for i in emb.indices { emb[i] = silu(emb[i]) }  // every resnet applies SiLU before its projection
            return emb
        }

        func run(_ c: Conv2D, _ x: FeatureMap) -> FeatureMap { scalar ? c.forwardDirect(x) : c.forward(x, threads: threads) }
        func attend(_ a: AttentionBlock, _ x: FeatureMap) -> FeatureMap { a.forward(x, threads: threads, scalar: scalar) }

        let inputMap = OpProfile.shared.measure(.layout) {
            FeatureMap(nchw: input, batch: batch, channels: config.inChannels, height: size, width: size)
        }
        var h = run(convIn, inputMap)
        var skips: [FeatureMap] = [h]
        for block in downBlocks {
            for (j, resnet) in block.resnets.enumerated() {
                h = resnet.forward(h, activatedEmbedding: emb, threads: threads, scalar: scalar)
                if j < block.attentions.count { h = attend(block.attentions[j], h) }
                skips.append(h)
            }
            if let down = block.downsampler {
                h = run(down, h)
                skips.append(h)
            }
        }
        if let mid = midBlock {
            h = mid.resnets[0].forward(h, activatedEmbedding: emb, threads: threads, scalar: scalar)
            if let attention = mid.attention { h = attend(attention, h) }
            h = mid.resnets[1].forward(h, activatedEmbedding: emb, threads: threads, scalar: scalar)
        }
        for block in upBlocks {
            for (j, resnet) in block.resnets.enumerated() {
                h = OpProfile.shared.measure(.layout) { h.concatenatingChannels(skips.removeLast()) }
                h = resnet.forward(h, activatedEmbedding: emb, threads: threads, scalar: scalar)
                if j < block.attentions.count { h = attend(block.attentions[j], h) }
            }
            if let upsampler = block.upsampler {
                h = scalar ? upsampler.forwardDirect(h.upsampledNearest2x()) : upsampler.forward(h, threads: threads, upsample: 2)
            }
        }
        h = run(convOut, scalar ? normOut.forwardScalar(h, silu: true) : normOut.forward(h, silu: true))
        return OpProfile.shared.measure(.layout) { h.nchw() }
    }
}

public enum UNet2DLoadError: Error, Equatable, CustomStringConvertible {
    case missingWeights(String)
    case classLabelsRequired
    case classOutOfRange(Int, Int)
    case notClassConditional
    case badInput(String)

    public var description: String {
        switch self {
        case .missingWeights(let dir): "no diffusion_pytorch_model.safetensors or model.safetensors in \(dir)"
        case .classLabelsRequired: "this UNet is class-conditional: give one class label per sample"
        case .classOutOfRange(let label, let count): "class label \(label) outside 0..<\(count)"
        case .notClassConditional: "class labels given to a UNet without class embeddings"
        case .badInput(let why): "UNet input: \(why)"
        }
    }
}
