#ifndef TANDEM_DIFFUSION_KERNELS_H
#define TANDEM_DIFFUSION_KERNELS_H

/// 1 when the CPU runs AVX-512F (checked once, at run time).
int tandem_cpu_has_avx512f(void);

/// C[4 × width] (+)= A[4 × k] · B[k × width], with row strides lda, ldb, ldc (in floats).
/// `width` must be a multiple of 16; 64 is the fast case (sixteen zmm accumulators).
/// Only call when tandem_cpu_has_avx512f() is 1.
void tandem_gemm_4rows_avx512(const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                              int k, int width, int accumulate);

/// Instruction sets the convolution kernel can use: 2 AVX-512F, 1 AVX2 + FMA, 0 portable C.
/// `tandem_conv_best_level` is the best this CPU runs; a lower level may always be asked for.
int tandem_conv_best_level(void);

/// A convolution over a channel-major batch (`x[((c * batch + b) * inHeight + y) * inWidth + x]`).
/// `upsample` 2 reads the input as if nearest-upsampled 2× first (diffusers' Upsample2D), without
/// materialising it; 1 reads it as it is.
typedef struct {
    int inChannels, outChannels, batch;
    int inHeight, inWidth, upsample;
    int kernelSize, stride, padding;
    int outHeight, outWidth;
} tandem_conv_shape;

/// Floats `tandem_conv_pack_weights` writes for `outChannels` rows of `depth` weights.
long tandem_conv_packed_weight_count(int outChannels, int depth);

/// Weights [out][depth] → blocks of 4 output channels, each `depth × 4` contiguous (zero-padded).
void tandem_conv_pack_weights(const float *weight, int outChannels, int depth, float *packed);

/// Columns (output pixels of the whole batch) per tile of the convolution.
int tandem_conv_tile_columns(void);

/// Output tiles [firstTile, endTile) of
///     out = (W · im2col(x) + bias + addend) · outputScale
/// where out and addend are [outChannels][batch · outHeight · outWidth] (addend may be NULL).
/// im2col is never materialised: each 64-column tile is packed in cache-sized chunks of the
/// reduction, and all output channels pass over a chunk while it is in L1. Tiles are independent,
/// so threads take disjoint tile ranges. Scratch is per thread and reused across calls.
void tandem_conv2d_tiles(const tandem_conv_shape *shape, const float *x, const float *packedWeight,
                         const float *bias, const float *addend, float outputScale, float *out,
                         int firstTile, int endTile, int level);

/// 1 when `tandem_conv2d_winograd` runs this shape: 3×3, stride 1, padding 1, an even output whose
/// width is 4, 8, 16 or 32 (an upsampled input at least 4 wide), and at least 64 tiles of 2×2 outputs in the batch (fewer leave the
/// 64-column products mostly empty).
int tandem_winograd_applies(const tandem_conv_shape *shape);

/// Floats `tandem_winograd_pack_weights` writes: 16 transformed elements × outChannels (rounded up
/// to 4) × inChannels.
long tandem_winograd_packed_weight_count(int outChannels, int inChannels);

/// 3×3 weights [out][in][3][3] → U = G g G^T per channel pair, as [element][block of 4 outputs][in][4].
void tandem_winograd_pack_weights(const float *weight, int outChannels, int inChannels, float *packed);

/// Blocks of 64 output tiles (2×2 pixels each) of the batch: the unit threads split.
long tandem_winograd_blocks(const tandem_conv_shape *shape);

/// Blocks [firstBlock, endBlock) of the same convolution as `tandem_conv2d_tiles`, by Winograd
/// F(2×2, 3×3): AVX-512 only (the caller checks `tandem_conv_best_level() == 2` and
/// `tandem_winograd_applies`). `upsample` 2 is read through as in `tandem_conv2d_tiles`.
void tandem_conv2d_winograd(const tandem_conv_shape *shape, const float *x, const float *packedWeight, const float *bias,
                            const float *addend, float outputScale, float *out, int firstBlock, int endBlock);

/// GroupNorm over a channel-major batch, optionally SiLU after it. `shift` ([channels][batch],
/// may be NULL) is added to the input first: the time-embedding projection of a resnet block,
/// fused into the norm that follows it. Statistics in double, as the Swift twin computes them.
void tandem_group_norm(const float *x, const float *shift, int channels, int batch, int pixels, int groups,
                       float eps, const float *weight, const float *bias, int silu, float *out);

/// Raises glibc's mmap and trim thresholds (64 MB, 256 MB) so that large blocks freed and allocated
/// again are reused from the heap instead of mapped afresh; does nothing on other C libraries.
void tandem_keep_large_blocks_in_heap(void);

#endif
