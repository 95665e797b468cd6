// The UNet's hot kernels. Swift cannot compile one function for another CPU than the rest of the
// module, so they live in C with per-function target attributes and are chosen at run time:
// the AVX-512 block of MatrixMultiply (the Swift SIMD16 kernel is its fallback), the convolution
// (AVX-512, AVX2 + FMA, portable), and GroupNorm + SiLU. Each has a scalar twin in Swift that
// KernelTests compares it against by NMSE.
#include "diffusion_kernels.h"
#include <immintrin.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void tandem_keep_large_blocks_in_heap(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int tandem_cpu_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define ROW_FMA(r, x)                                         \
    c##r##0 = _mm512_fmadd_ps(x, b0, c##r##0);                \
    c##r##1 = _mm512_fmadd_ps(x, b1, c##r##1);                \
    c##r##2 = _mm512_fmadd_ps(x, b2, c##r##2);                \
    c##r##3 = _mm512_fmadd_ps(x, b3, c##r##3);

#define ROW_INIT(r)                                                                   \
    __m512 c##r##0 = accumulate ? _mm512_loadu_ps(c + r * ldc + 0) : _mm512_setzero_ps();  \
    __m512 c##r##1 = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps(); \
    __m512 c##r##2 = accumulate ? _mm512_loadu_ps(c + r * ldc + 32) : _mm512_setzero_ps(); \
    __m512 c##r##3 = accumulate ? _mm512_loadu_ps(c + r * ldc + 48) : _mm512_setzero_ps();

#define ROW_STORE(r)                               \
    _mm512_storeu_ps(c + r * ldc + 0, c##r##0);    \
    _mm512_storeu_ps(c + r * ldc + 16, c##r##1);   \
    _mm512_storeu_ps(c + r * ldc + 32, c##r##2);   \
    _mm512_storeu_ps(c + r * ldc + 48, c##r##3);

__attribute__((target("avx512f")))
void tandem_gemm_4rows_avx512(const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                              int k, int width, int accumulate) {
    if (width == 64) {
        ROW_INIT(0) ROW_INIT(1) ROW_INIT(2) ROW_INIT(3)
        for (int p = 0; p < k; p++) {
            const float *bp = b + (long)p * ldb;
            __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
            __m512 b2 = _mm512_loadu_ps(bp + 32), b3 = _mm512_loadu_ps(bp + 48);
            __m512 x0 = _mm512_set1_ps(a[p]), x1 = _mm512_set1_ps(a[lda + p]);
            __m512 x2 = _mm512_set1_ps(a[2 * lda + p]), x3 = _mm512_set1_ps(a[3 * lda + p]);
            ROW_FMA(0, x0) ROW_FMA(1, x1) ROW_FMA(2, x2) ROW_FMA(3, x3)
        }
        ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3)
        return;
    }
    for (int j = 0; j + 16 <= width; j += 16) {
        __m512 s0 = accumulate ? _mm512_loadu_ps(c + j) : _mm512_setzero_ps();
        __m512 s1 = accumulate ? _mm512_loadu_ps(c + ldc + j) : _mm512_setzero_ps();
        __m512 s2 = accumulate ? _mm512_loadu_ps(c + 2 * ldc + j) : _mm512_setzero_ps();
        __m512 s3 = accumulate ? _mm512_loadu_ps(c + 3 * ldc + j) : _mm512_setzero_ps();
        for (int p = 0; p < k; p++) {
            __m512 bv = _mm512_loadu_ps(b + (long)p * ldb + j);
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), bv, s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[lda + p]), bv, s1);
            s2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2 * lda + p]), bv, s2);
            s3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3 * lda + p]), bv, s3);
        }
        _mm512_storeu_ps(c + j, s0);
        _mm512_storeu_ps(c + ldc + j, s1);
        _mm512_storeu_ps(c + 2 * ldc + j, s2);
        _mm512_storeu_ps(c + 3 * ldc + j, s3);
    }
}

// ---------------------------------------------------------------------------------------------
// Convolution without a materialised im2col.
//
// The output tile is 4 channels × 64 columns (pixels of the batch, channel-major layout). The
// reduction (inChannels · k²) is cut in chunks of KC rows; a chunk of the im2col tile is packed
// (KC × 64 floats = 32 KB, in L1) and every block of 4 output channels passes over it. Weights are
// packed once at load as [block][depth][4], so the four broadcasts per step are adjacent.

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define TILE 64
#define KC 128

int tandem_conv_tile_columns(void) { return TILE; }

int tandem_conv_best_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}

long tandem_conv_packed_weight_count(int outChannels, int depth) {
    return (long)((outChannels + 3) / 4) * 4 * depth;
}

void tandem_conv_pack_weights(const float *weight, int outChannels, int depth, float *packed) {
    int blocks = (outChannels + 3) / 4;
    for (int blk = 0; blk < blocks; blk++)
        for (int p = 0; p < depth; p++)
            for (int r = 0; r < 4; r++) {
                int row = blk * 4 + r;
                packed[((long)blk * depth + p) * 4 + r] = row < outChannels ? weight[(long)row * depth + p] : 0;
            }
}

/// Where each kernel tap reads for each column of a tile: the offset from the tile's first
/// sample in the input channel's planes, or -1 in the padding (or past the last column). It does not depend on
/// the channel, so it is computed once per tile and every im2col row is then a plain gather;
/// computing positions per row (with integer division) once made packing cost as much as the
/// products themselves.
static void tap_offsets(const tandem_conv_shape *s, long j0, int width, int *offsets) {
    const int ks = s->kernelSize, st = s->stride, pad = s->padding, wo = s->outWidth, ho = s->outHeight;
    const int upShift = s->upsample == 2 ? 1 : 0, vh = s->inHeight << upShift, vw = s->inWidth << upShift;
    const long plane = (long)s->inHeight * s->inWidth, hw = (long)ho * wo;
    // Samples counted from the tile's first one: the offsets are then the same for every tile
    // that starts at the same pixel of its sample, and the caller reuses them.
    int b = 0, oy = (int)(j0 % hw) / wo, ox = (int)(j0 % hw) % wo;
    for (int i = 0; i < TILE; i++) {
        for (int ky = 0; ky < ks; ky++) {
            const int iy = oy * st + ky - pad;
            const long rowStart = b * plane + (long)(iy >> upShift) * s->inWidth;
            for (int kx = 0; kx < ks; kx++) {
                const int ix = ox * st + kx - pad;
                const int inside = i < width && iy >= 0 && iy < vh && ix >= 0 && ix < vw;
                offsets[(ky * ks + kx) * TILE + i] = inside ? (int)(rowStart + (ix >> upShift)) : -1;
            }
        }
        if (++ox == wo) { ox = 0; if (++oy == ho) { oy = 0; b++; } }
    }
}

/// im2col rows [k0, k1) of the tile into dst[k1 - k0][TILE], from the tap offsets.
static void pack_chunk(const tandem_conv_shape *s, const float *x, const int *offsets, int k0, int k1, float *dst) {
    const int taps = s->kernelSize * s->kernelSize;
    const long channelStride = (long)s->batch * s->inHeight * s->inWidth;
    int c = k0 / taps, t = k0 % taps;
    for (int r = k0; r < k1; r++) {
        const float *channel = x + c * channelStride;
        const int *o = offsets + t * TILE;
        float *d = dst + (long)(r - k0) * TILE;
        for (int i = 0; i < TILE; i++) d[i] = o[i] >= 0 ? channel[o[i]] : 0;
        if (++t == taps) { t = 0; c++; }
    }
}

#if defined(__x86_64__)
/// How one 16-column vector of one tap is read: a masked load where its valid lanes are
/// consecutive in memory (stride 1 over one output row), else a masked gather.
typedef struct { int start; int contiguous; unsigned short mask; } tap_vector;

static void tap_vectors(const int *offsets, int taps, tap_vector *vectors) {
    for (int t = 0; t < taps; t++)
        for (int v = 0; v < TILE / 16; v++) {
            const int *o = offsets + t * TILE + v * 16;
            unsigned mask = 0;
            int start = 0, contiguous = 1, first = 1;
            for (int l = 0; l < 16; l++) {
                if (o[l] < 0) continue;
                mask |= 1u << l;
                if (first) { start = o[l] - l; first = 0; }
                else if (o[l] != start + l) contiguous = 0;
            }
            vectors[t * (TILE / 16) + v] = (tap_vector){start, contiguous, (unsigned short)mask};
        }
}

__attribute__((target("avx512f")))
static void pack_chunk_avx512(const tandem_conv_shape *s, const float *x, const int *offsets, const tap_vector *vectors,
                              int k0, int k1, float *dst) {
    const int taps = s->kernelSize * s->kernelSize;
    const long channelStride = (long)s->batch * s->inHeight * s->inWidth;
    int c = k0 / taps, t = k0 % taps;
    for (int r = k0; r < k1; r++) {
        const float *channel = x + c * channelStride;
        float *d = dst + (long)(r - k0) * TILE;
        for (int v = 0; v < TILE / 16; v++) {
            const tap_vector tv = vectors[t * (TILE / 16) + v];
            __m512 value;
            if (tv.contiguous) {
                // Masked-off lanes may point outside the input: masked loads do not fault there.
                value = _mm512_maskz_loadu_ps(tv.mask, channel + tv.start);
            } else {
                const __m512i index = _mm512_loadu_si512(offsets + t * TILE + v * 16);
                value = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tv.mask, index, channel, 4);
            }
            _mm512_store_ps(d + v * 16, value);
        }
        if (++t == taps) { t = 0; c++; }
    }
}
#endif

/// c[4][TILE] (+)= a[kc][4] · b[kc][TILE]: the portable kernel (compiled for the baseline ISA).
static void kernel_portable(const float *a, const float *b, float *c, int kc, int accumulate) {
    float acc[4][TILE];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < TILE; j++) acc[r][j] = accumulate ? c[r * TILE + j] : 0;
    for (int p = 0; p < kc; p++)
        for (int r = 0; r < 4; r++) {
            const float w = a[p * 4 + r];
            for (int j = 0; j < TILE; j++) acc[r][j] += w * b[p * TILE + j];
        }
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < TILE; j++) c[r * TILE + j] = acc[r][j];
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void kernel_avx2(const float *a, const float *b, float *c, int kc, int accumulate) {
    // Sixteen ymm registers: 4 rows × 16 columns at a time (8 accumulators).
    for (int j = 0; j < TILE; j += 16) {
        __m256 s00, s01, s10, s11, s20, s21, s30, s31;
        if (accumulate) {
            s00 = _mm256_loadu_ps(c + j); s01 = _mm256_loadu_ps(c + j + 8);
            s10 = _mm256_loadu_ps(c + TILE + j); s11 = _mm256_loadu_ps(c + TILE + j + 8);
            s20 = _mm256_loadu_ps(c + 2 * TILE + j); s21 = _mm256_loadu_ps(c + 2 * TILE + j + 8);
            s30 = _mm256_loadu_ps(c + 3 * TILE + j); s31 = _mm256_loadu_ps(c + 3 * TILE + j + 8);
        } else {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = _mm256_setzero_ps();
        }
        for (int p = 0; p < kc; p++) {
            const __m256 b0 = _mm256_loadu_ps(b + p * TILE + j), b1 = _mm256_loadu_ps(b + p * TILE + j + 8);
            __m256 w = _mm256_broadcast_ss(a + p * 4);
            s00 = _mm256_fmadd_ps(w, b0, s00); s01 = _mm256_fmadd_ps(w, b1, s01);
            w = _mm256_broadcast_ss(a + p * 4 + 1);
            s10 = _mm256_fmadd_ps(w, b0, s10); s11 = _mm256_fmadd_ps(w, b1, s11);
            w = _mm256_broadcast_ss(a + p * 4 + 2);
            s20 = _mm256_fmadd_ps(w, b0, s20); s21 = _mm256_fmadd_ps(w, b1, s21);
            w = _mm256_broadcast_ss(a + p * 4 + 3);
            s30 = _mm256_fmadd_ps(w, b0, s30); s31 = _mm256_fmadd_ps(w, b1, s31);
        }
        _mm256_storeu_ps(c + j, s00); _mm256_storeu_ps(c + j + 8, s01);
        _mm256_storeu_ps(c + TILE + j, s10); _mm256_storeu_ps(c + TILE + j + 8, s11);
        _mm256_storeu_ps(c + 2 * TILE + j, s20); _mm256_storeu_ps(c + 2 * TILE + j + 8, s21);
        _mm256_storeu_ps(c + 3 * TILE + j, s30); _mm256_storeu_ps(c + 3 * TILE + j + 8, s31);
    }
}

__attribute__((target("avx512f")))
static void kernel_avx512(const float *a, const float *b, float *c, int kc, int accumulate) {
    // 4 rows × 64 columns in sixteen zmm accumulators: per step 4 loads and 4 broadcasts feed 16 FMAs.
#define ACC_INIT(r)                                                                      \
    __m512 c##r##0 = accumulate ? _mm512_loadu_ps(c + r * TILE) : _mm512_setzero_ps();       \
    __m512 c##r##1 = accumulate ? _mm512_loadu_ps(c + r * TILE + 16) : _mm512_setzero_ps();  \
    __m512 c##r##2 = accumulate ? _mm512_loadu_ps(c + r * TILE + 32) : _mm512_setzero_ps();  \
    __m512 c##r##3 = accumulate ? _mm512_loadu_ps(c + r * TILE + 48) : _mm512_setzero_ps();
#define ACC_STORE(r)                                                                     \
    _mm512_storeu_ps(c + r * TILE, c##r##0); _mm512_storeu_ps(c + r * TILE + 16, c##r##1); \
    _mm512_storeu_ps(c + r * TILE + 32, c##r##2); _mm512_storeu_ps(c + r * TILE + 48, c##r##3);
    ACC_INIT(0) ACC_INIT(1) ACC_INIT(2) ACC_INIT(3)
    for (int p = 0; p < kc; p++) {
        const float *bp = b + p * TILE;
        const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
        const __m512 b2 = _mm512_load_ps(bp + 32), b3 = _mm512_load_ps(bp + 48);
        __m512 x = _mm512_set1_ps(a[p * 4]);
        ROW_FMA(0, x)
        x = _mm512_set1_ps(a[p * 4 + 1]);
        ROW_FMA(1, x)
        x = _mm512_set1_ps(a[p * 4 + 2]);
        ROW_FMA(2, x)
        x = _mm512_set1_ps(a[p * 4 + 3]);
        ROW_FMA(3, x)
    }
    ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3)
#undef ACC_INIT
#undef ACC_STORE
}
#endif

typedef void (*conv_kernel)(const float *, const float *, float *, int, int);

/// Per-thread scratch, grown as needed and kept: no allocation per call once warm. A pthread key
/// frees it when the thread exits (GCD retires idle worker threads).
static _Thread_local void *scratch;
static _Thread_local long scratchBytes;
static pthread_key_t scratchKey;
static pthread_once_t scratchKeyOnce = PTHREAD_ONCE_INIT;

static void make_scratch_key(void) { pthread_key_create(&scratchKey, free); }

/// This thread's scratch, at least `need` bytes, 64-byte aligned.
static void *thread_scratch(long need) {
    if (scratchBytes < need) {
        pthread_once(&scratchKeyOnce, make_scratch_key);
        free(scratch);
        scratchBytes = (need + 4095) / 4096 * 4096;
        scratch = aligned_alloc(64, scratchBytes);
        pthread_setspecific(scratchKey, scratch);
    }
    return scratch;
}

void tandem_conv2d_tiles(const tandem_conv_shape *s, const float *x, const float *packedWeight,
                         const float *bias, const float *addend, float outputScale, float *out,
                         int firstTile, int endTile, int level) {
    conv_kernel kernel = kernel_portable;
#if defined(__x86_64__)
    if (level >= 2) kernel = kernel_avx512;
    else if (level == 1) kernel = kernel_avx2;
#endif
    const int taps = s->kernelSize * s->kernelSize, depth = s->inChannels * taps;
    const int blocks = (s->outChannels + 3) / 4;
    const long n = (long)s->batch * s->outHeight * s->outWidth;
    // Accumulators [blocks · 4][TILE], the im2col chunk [KC][TILE], tap offsets [taps][TILE], tap vectors.
    const long accumulatorFloats = (long)blocks * 4 * TILE;
    const long need = sizeof(float) * (accumulatorFloats + KC * TILE) + sizeof(int) * taps * TILE + 64 * (long)taps * (TILE / 16);
    float *acc = thread_scratch(need), *chunk = acc + accumulatorFloats;
    int *offsets = (int *)(chunk + KC * TILE);
#if defined(__x86_64__)
    tap_vector *vectors = (tap_vector *)(offsets + taps * TILE);
#endif
    const long hw = (long)s->outHeight * s->outWidth;
    // When a sample spans several tiles, take the tiles position-major (tile p of every sample,
    // then p + 1) so each position's tap offsets are computed once per call, not once per tile.
    const int perSample = hw % TILE == 0 ? (int)(hw / TILE) : 1;
    long cachedStart = -1;
    int cachedWidth = -1;
    for (int logical = firstTile; logical < endTile; logical++) {
        const int tile = perSample > 1 ? (logical % s->batch) * perSample + logical / s->batch : logical;
        const long j0 = (long)tile * TILE;
        const int width = (int)(n - j0 < TILE ? n - j0 : TILE);
        if (j0 % hw != cachedStart || width != cachedWidth) {
            cachedStart = j0 % hw; cachedWidth = width;
            tap_offsets(s, j0, width, offsets);
#if defined(__x86_64__)
            if (level >= 2) tap_vectors(offsets, taps, vectors);
#endif
        }
        const float *sampleBase = x + (j0 / hw) * (long)s->inHeight * s->inWidth;
        for (int k0 = 0; k0 < depth; k0 += KC) {
            const int k1 = k0 + KC < depth ? k0 + KC : depth;
#if defined(__x86_64__)
            if (level >= 2) pack_chunk_avx512(s, sampleBase, offsets, vectors, k0, k1, chunk);
            else
#endif
            pack_chunk(s, sampleBase, offsets, k0, k1, chunk);
            for (int blk = 0; blk < blocks; blk++)
                kernel(packedWeight + ((long)blk * depth + k0) * 4, chunk, acc + (long)blk * 4 * TILE, k1 - k0, k0 > 0);
        }
        for (int r = 0; r < s->outChannels; r++) {
            const float *from = acc + (long)r * TILE, *add = addend ? addend + r * n + j0 : NULL;
            float *to = out + r * n + j0;
            const float b = bias[r];
            if (add) {
                for (int i = 0; i < width; i++) to[i] = (from[i] + b + add[i]) * outputScale;
            } else {
                for (int i = 0; i < width; i++) to[i] = (from[i] + b) * outputScale;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) for the 3×3 stride-1 convolutions (AVX-512 only; other CPUs use the tiled
// kernel above). Each 2×2 output tile is A^T [U ⊙ V] A with U = G g G^T (weights, transformed at
// load) and V = B^T d B (its 4×4 input patch): 16 multiplies per tile and channel pair instead of
// 36. The 16 elementwise products over channels are 16 matrix products, which the 4×64 micro-kernel
// above runs: columns are 64 consecutive tiles of the batch, so one pass fills them at 8×8 and up.

/// Input channels transformed at a time: V for one block is then 16 × 128 × 64 floats (512 KB, in
/// L2), and every layer of the glyph model (at most 128 channels in) needs a single pass.
#define WINO_KC 128

int tandem_winograd_applies(const tandem_conv_shape *s) {
    const int tilesX = s->outWidth / 2;
    const long tiles = (long)s->batch * (s->outHeight / 2) * tilesX;
    return s->kernelSize == 3 && s->stride == 1 && s->padding == 1 && s->outHeight % 2 == 0 && s->outWidth % 2 == 0
        && (tilesX == 2 || tilesX == 4 || tilesX == 8 || tilesX == 16) && s->inWidth >= 4 && tiles >= TILE;
}

long tandem_winograd_packed_weight_count(int outChannels, int inChannels) {
    return 16L * ((outChannels + 3) / 4) * 4 * inChannels;
}

void tandem_winograd_pack_weights(const float *weight, int outChannels, int inChannels, float *packed) {
    const int blocks = (outChannels + 3) / 4;
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    for (int o = 0; o < blocks * 4; o++)
        for (int c = 0; c < inChannels; c++) {
            const float *g = weight + ((long)o * inChannels + c) * 9;
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    double u = 0;
                    if (o < outChannels)
                        for (int a = 0; a < 3; a++)
                            for (int b = 0; b < 3; b++) u += G[i][a] * g[a * 3 + b] * G[j][b];
                    // [element][block][channel][4]: the micro-kernel's packed-weight layout per element.
                    packed[(((long)(i * 4 + j) * blocks + o / 4) * inChannels + c) * 4 + o % 4] = (float)u;
                }
        }
}

long tandem_winograd_blocks(const tandem_conv_shape *s) {
    const long tiles = (long)s->batch * (s->outHeight / 2) * (s->outWidth / 2);
    return (tiles + TILE - 1) / TILE;
}

#if defined(__x86_64__)
/// Where the lanes of one 16-tile vector read each patch row: per row r of the 4×4 patch and
/// group g of lanes, the offset of the input row in its channel's planes, or -1 in the padding.
/// It does not depend on the channel, so it is computed once per block. Groups past the 16 lanes
/// (upsampled rows are half as long, and the loads below always fill 32 floats) read zeros.
static void winograd_row_offsets(const tandem_conv_shape *s, long j0, int *offsets) {
    const int up = s->upsample == 2 ? 1 : 0, tilesX = s->outWidth / 2, tilesY = s->outHeight / 2, groups = 16 / tilesX;
    const long plane = (long)s->inHeight * s->inWidth, rows = (long)s->batch * tilesY;
    for (int vec = 0; vec < TILE / 16; vec++)
        for (int r = 0; r < 4; r++)
            for (int g = 0; g < 16; g++) {
                const long row = (j0 + vec * 16) / tilesX + g;
                const int vy = 2 * (int)(row % tilesY) + r - 1;
                offsets[(vec * 4 + r) * 16 + g] = g >= groups || row >= rows || vy < 0 || vy >= s->outHeight
                    ? -1 : (int)((row / tilesY) * plane + (long)(vy >> up) * s->inWidth);
            }
}

/// 32 floats holding the 16 lanes' input rows side by side: `groups` segments of `segment` floats.
__attribute__((target("avx512f")))
static inline void winograd_load_rows(const float *channel, const int *offsets, int segment, __m512 *lo, __m512 *hi) {
    static const float zeros[32] __attribute__((aligned(64)));
#define ROW(g) (offsets[g] < 0 ? zeros : channel + offsets[g])
    switch (segment) {
    case 32: *lo = _mm512_loadu_ps(ROW(0)); *hi = _mm512_loadu_ps(ROW(0) + 16); break;
    case 16: *lo = _mm512_loadu_ps(ROW(0)); *hi = _mm512_loadu_ps(ROW(1)); break;
    case 8:
        *lo = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd((const double *)ROW(0))),
                                                   _mm256_loadu_pd((const double *)ROW(1)), 1));
        *hi = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd((const double *)ROW(2))),
                                                   _mm256_loadu_pd((const double *)ROW(3)), 1));
        break;
    default: {  // 4
        __m512 v[2];
        for (int h = 0; h < 2; h++) {
            __m512 x = _mm512_castps128_ps512(_mm_loadu_ps(ROW(4 * h)));
            x = _mm512_insertf32x4(x, _mm_loadu_ps(ROW(4 * h + 1)), 1);
            x = _mm512_insertf32x4(x, _mm_loadu_ps(ROW(4 * h + 2)), 2);
            v[h] = _mm512_insertf32x4(x, _mm_loadu_ps(ROW(4 * h + 3)), 3);
        }
        *lo = v[0]; *hi = v[1];
    }
    }
#undef ROW
}

/// V[16][channels][TILE] for tiles [j0, j0 + TILE) of channels [c0, c1). Lane l of a vector is
/// tile j0 + 16v + l: tile row R = (j0 + 16v + l) / tilesX (rows of all samples, in order),
/// column tx = l % tilesX. For each of the patch's 4 rows the 16 lanes' input rows are loaded side
/// by side (16 / tilesX segments of 2·tilesX floats), and one permute per column picks each lane's
/// d[2tx − 1 … 2tx + 2]; upsampled input repeats every source value, so the segments are half as
/// long and the index is halved.
__attribute__((target("avx512f")))
static void winograd_input(const tandem_conv_shape *s, const float *x, const int *rowOffsets, int c0, int c1, float *v) {
    const int up = s->upsample == 2 ? 1 : 0, tilesX = s->outWidth / 2, segment = s->inWidth;
    const long channelStride = (long)s->batch * s->inHeight * s->inWidth;
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i twice = _mm512_slli_epi32(lane, 1);
    __m512i index[4];
    for (int d = 0; d < 4; d++) index[d] = _mm512_srli_epi32(_mm512_add_epi32(twice, _mm512_set1_epi32(d - 1)), up);
    // Lanes whose d0 / d3 fall in the left / right padding.
    const __m512i column = _mm512_and_si512(lane, _mm512_set1_epi32(tilesX - 1));
    const __mmask16 hasLeft = _mm512_cmpneq_epi32_mask(column, _mm512_setzero_si512());
    const __mmask16 hasRight = _mm512_cmpneq_epi32_mask(column, _mm512_set1_epi32(tilesX - 1));
    const long element = (long)(c1 - c0) * TILE;
    for (int c = c0; c < c1; c++) {
        const float *channel = x + c * channelStride;
        for (int vec = 0; vec < TILE / 16; vec++) {
            __m512 u[4][4];
            for (int r = 0; r < 4; r++) {
                __m512 lo, hi;
                winograd_load_rows(channel, rowOffsets + (vec * 4 + r) * 16, segment, &lo, &hi);
                const __m512 d0 = _mm512_maskz_permutex2var_ps(hasLeft, lo, index[0], hi);
                const __m512 d1 = _mm512_permutex2var_ps(lo, index[1], hi);
                const __m512 d2 = _mm512_permutex2var_ps(lo, index[2], hi);
                const __m512 d3 = _mm512_maskz_permutex2var_ps(hasRight, lo, index[3], hi);
                u[r][0] = _mm512_sub_ps(d0, d2);
                u[r][1] = _mm512_add_ps(d1, d2);
                u[r][2] = _mm512_sub_ps(d2, d1);
                u[r][3] = _mm512_sub_ps(d1, d3);
            }
            float *base = v + (long)(c - c0) * TILE + vec * 16;
            for (int j = 0; j < 4; j++) {
                _mm512_store_ps(base + (0 * 4 + j) * element, _mm512_sub_ps(u[0][j], u[2][j]));
                _mm512_store_ps(base + (1 * 4 + j) * element, _mm512_add_ps(u[1][j], u[2][j]));
                _mm512_store_ps(base + (2 * 4 + j) * element, _mm512_sub_ps(u[2][j], u[1][j]));
                _mm512_store_ps(base + (3 * 4 + j) * element, _mm512_sub_ps(u[1][j], u[3][j]));
            }
        }
    }
}

/// out = (A^T M A + bias + addend) · scale for tiles [j0, j0 + TILE); M is [16][outChannels][TILE].
/// The two output columns of each tile are interleaved into rows of 2·tilesX floats.
__attribute__((target("avx512f")))
static void winograd_output(const tandem_conv_shape *s, const float *m, long mStride, long j0, const float *bias,
                            const float *addend, float outputScale, float *out) {
    const int tilesX = s->outWidth / 2, tilesY = s->outHeight / 2, width = s->outWidth, groups = 16 / tilesX;
    const long rows = (long)s->batch * tilesY, n = (long)s->batch * s->outHeight * s->outWidth;
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    // Lanes (y0[0], y1[0], y0[1], y1[1], …): indices 0..15 take from the first vector, 16..31 the second.
    const __m512i lowHalf = _mm512_or_si512(_mm512_srli_epi32(lane, 1), _mm512_slli_epi32(_mm512_and_si512(lane, _mm512_set1_epi32(1)), 4));
    const __m512i highHalf = _mm512_add_epi32(lowHalf, _mm512_set1_epi32(8));
    const __m512 scale = _mm512_set1_ps(outputScale);
    const __mmask16 rowMask = (__mmask16)((1u << (width < 16 ? width : 16)) - 1);
    __attribute__((aligned(64))) float interleaved[32];
    for (int o = 0; o < s->outChannels; o++) {
        const __m512 b = _mm512_set1_ps(bias[o]);
        for (int vec = 0; vec < TILE / 16; vec++) {
            const long firstRow = (j0 + vec * 16) / tilesX;
            if (firstRow >= rows) break;
            const float *mo = m + (long)o * TILE + vec * 16;
            __m512 t[4][2];
            for (int i = 0; i < 4; i++) {
                const __m512 a0 = _mm512_load_ps(mo + (i * 4 + 0) * mStride), a1 = _mm512_load_ps(mo + (i * 4 + 1) * mStride);
                const __m512 a2 = _mm512_load_ps(mo + (i * 4 + 2) * mStride), a3 = _mm512_load_ps(mo + (i * 4 + 3) * mStride);
                t[i][0] = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
                t[i][1] = _mm512_sub_ps(_mm512_sub_ps(a1, a2), a3);
            }
            for (int dy = 0; dy < 2; dy++) {
                __m512 y0, y1;
                if (dy == 0) {
                    y0 = _mm512_add_ps(_mm512_add_ps(t[0][0], t[1][0]), t[2][0]);
                    y1 = _mm512_add_ps(_mm512_add_ps(t[0][1], t[1][1]), t[2][1]);
                } else {
                    y0 = _mm512_sub_ps(_mm512_sub_ps(t[1][0], t[2][0]), t[3][0]);
                    y1 = _mm512_sub_ps(_mm512_sub_ps(t[1][1], t[2][1]), t[3][1]);
                }
                _mm512_store_ps(interleaved, _mm512_permutex2var_ps(y0, lowHalf, y1));
                _mm512_store_ps(interleaved + 16, _mm512_permutex2var_ps(y0, highHalf, y1));
                for (int g = 0; g < groups; g++) {
                    const long row = firstRow + g;
                    if (row >= rows) break;
                    const long offset = (long)o * n + ((row / tilesY) * s->outHeight + 2 * (row % tilesY) + dy) * width;
                    for (int i = 0; i < width; i += 16) {
                        __m512 value = _mm512_add_ps(_mm512_maskz_loadu_ps(rowMask, interleaved + g * width + i), b);
                        if (addend) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(rowMask, addend + offset + i));
                        _mm512_mask_storeu_ps(out + offset + i, rowMask, _mm512_mul_ps(value, scale));
                    }
                }
            }
        }
    }
}
#endif

void tandem_conv2d_winograd(const tandem_conv_shape *s, const float *x, const float *packedWeight, const float *bias,
                            const float *addend, float outputScale, float *out, int firstBlock, int endBlock) {
#if defined(__x86_64__)
    const int blocks = (s->outChannels + 3) / 4, cin = s->inChannels;
    const long elementFloats = (long)blocks * 4 * TILE;  // M for one of the 16 elements
    float *m = thread_scratch(sizeof(float) * (16 * elementFloats + 16L * WINO_KC * TILE) + sizeof(int) * TILE * 4);
    float *v = m + 16 * elementFloats;
    int *rowOffsets = (int *)(v + 16L * WINO_KC * TILE);
    for (int block = firstBlock; block < endBlock; block++) {
        const long j0 = (long)block * TILE;
        winograd_row_offsets(s, j0, rowOffsets);
        for (int c0 = 0; c0 < cin; c0 += WINO_KC) {
            const int c1 = c0 + WINO_KC < cin ? c0 + WINO_KC : cin;
            winograd_input(s, x, rowOffsets, c0, c1, v);
            for (int e = 0; e < 16; e++)
                for (int blk = 0; blk < blocks; blk++)
                    kernel_avx512(packedWeight + (((long)e * blocks + blk) * cin + c0) * 4, v + (long)e * (c1 - c0) * TILE,
                                  m + e * elementFloats + (long)blk * 4 * TILE, c1 - c0, c0 > 0);
        }
        winograd_output(s, m, elementFloats, j0, bias, addend, outputScale, out);
    }
#else
    (void)s; (void)x; (void)packedWeight; (void)bias; (void)addend; (void)outputScale; (void)out; (void)firstBlock; (void)endBlock;
#endif
}

// ---------------------------------------------------------------------------------------------
// GroupNorm (+ SiLU), vectorised with a polynomial exp; compiled for each ISA, picked at load.

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int v16i __attribute__((ext_vector_type(16)));

/// exp(x) for x in [-87, 88]: Cephes' expf (range reduction by ln 2, degree-6 polynomial), ~1 ulp.
/// Macros rather than functions: a v16 argument would change the ABI between the ISAs below.
#define EXP_V16(input) ({                                                                     \
    v16 x_ = __builtin_elementwise_min(__builtin_elementwise_max((input), (v16)(-87.0f)), (v16)(88.0f)); \
    const v16 n_ = __builtin_elementwise_floor(x_ * 1.44269504088896341f + 0.5f);             \
    const v16 r_ = x_ - n_ * 0.693359375f + n_ * 2.12194440e-4f;                               \
    v16 p_ = 1.9875691500e-4f;                                                                 \
    p_ = p_ * r_ + 1.3981999507e-3f;                                                           \
    p_ = p_ * r_ + 8.3334519073e-3f;                                                           \
    p_ = p_ * r_ + 4.1665795894e-2f;                                                           \
    p_ = p_ * r_ + 1.6666665459e-1f;                                                           \
    p_ = p_ * r_ + 5.0000001201e-1f;                                                           \
    p_ = p_ * r_ * r_ + r_ + 1.0f;                                                             \
    const v16i bits_ = (__builtin_convertvector(n_, v16i) + 127) << 23;                        \
    p_ * (v16)bits_; })
#define LOAD16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define STORE16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

#define GROUP_NORM_BODY(RECIPROCAL)                                                                      \
    typedef double v16d __attribute__((ext_vector_type(16)));                                            \
    const int perGroup = channels / groups;                                                              \
    const int full = pixels - pixels % 16;                                                               \
    for (int b = 0; b < batch; b++)                                                                      \
        for (int g = 0; g < groups; g++) {                                                               \
            /* Per-channel float partial sums, accumulated across the group's channels in double   */    \
            /* lanes: one horizontal sum per group (a serial scalar one per channel was slower     */    \
            /* than the pass itself at 4×4).                                                       */    \
            v16d sum16 = 0, squares16 = 0;                                                               \
            double tailSum = 0, tailSquares = 0;                                                         \
            for (int c = g * perGroup; c < (g + 1) * perGroup; c++) {                                    \
                const float *p = x + ((long)c * batch + b) * pixels;                                     \
                const float add = shift ? shift[c * batch + b] : 0;                                      \
                v16 s = 0, ss = 0;                                                                       \
                for (int i = 0; i < full; i += 16) { v16 v = LOAD16(p + i) + add; s += v; ss += v * v; } \
                sum16 += __builtin_convertvector(s, v16d);                                               \
                squares16 += __builtin_convertvector(ss, v16d);                                          \
                for (int i = full; i < pixels; i++) { float v = p[i] + add; tailSum += v; tailSquares += v * v; } \
            }                                                                                            \
            double sum = tailSum, sumSquares = tailSquares;                                              \
            for (int i = 0; i < 16; i++) { sum += sum16[i]; sumSquares += squares16[i]; }               \
            const double count = (double)perGroup * pixels, mean = sum / count;                          \
            double variance = sumSquares / count - mean * mean;                                          \
            if (variance < 0) variance = 0;                                                              \
            const float inv = (float)(1 / sqrt(variance + eps)), m = (float)mean;                        \
            for (int c = g * perGroup; c < (g + 1) * perGroup; c++) {                                    \
                const long base = ((long)c * batch + b) * pixels;                                        \
                const float add = shift ? shift[c * batch + b] : 0;                                      \
                const float scale = weight[c] * inv, offset = bias[c] - m * weight[c] * inv + add * scale; \
                const float *p = x + base;                                                               \
                float *q = out + base;                                                                   \
                if (silu) {                                                                              \
                    for (int i = 0; i < full; i += 16) {                                                 \
                        const v16 v = LOAD16(p + i) * scale + offset;                                    \
                        STORE16(q + i, v * RECIPROCAL(1.0f + EXP_V16(-v)));                              \
                    }                                                                                    \
                } else {                                                                                 \
                    for (int i = 0; i < full; i += 16) STORE16(q + i, LOAD16(p + i) * scale + offset);   \
                }                                                                                        \
                for (int i = full; i < pixels; i++) {                                                    \
                    float v = p[i] * scale + offset;                                                     \
                    q[i] = silu ? v / (1.0f + expf(-v)) : v;                                             \
                }                                                                                        \
            }                                                                                            \
        }

/// SiLU's 1 / (1 + e^-v): `RECIPROCAL` is the ISA's approximate reciprocal refined by Newton
/// steps (~2^-23 relative), since a vector division per element was half of GroupNorm's time.
#define NEWTON_V16(d, r) ((r) * (2.0f - (d) * (r)))
#if defined(__x86_64__)
#define RECIPROCAL_AVX512(d) ({ const v16 d_ = (d); const v16 r_ = (v16)_mm512_rcp14_ps((__m512)d_); NEWTON_V16(d_, r_); })
#define RECIPROCAL_AVX2(d) ({                                                                       \
    const v16 d_ = (d);                                                                            \
    const __m256 lo_ = _mm256_rcp_ps((__m256)__builtin_shufflevector(d_, d_, 0, 1, 2, 3, 4, 5, 6, 7));    \
    const __m256 hi_ = _mm256_rcp_ps((__m256)__builtin_shufflevector(d_, d_, 8, 9, 10, 11, 12, 13, 14, 15)); \
    typedef float v8_ __attribute__((ext_vector_type(8)));                                         \
    const v16 r_ = __builtin_shufflevector((v8_)lo_, (v8_)hi_, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); \
    NEWTON_V16(d_, NEWTON_V16(d_, r_)); })

__attribute__((target("avx512f")))
static void group_norm_avx512(const float *x, const float *shift, int channels, int batch, int pixels, int groups,
                              float eps, const float *weight, const float *bias, int silu, float *out) {
    GROUP_NORM_BODY(RECIPROCAL_AVX512)
}

__attribute__((target("avx2,fma")))
static void group_norm_avx2(const float *x, const float *shift, int channels, int batch, int pixels, int groups,
                            float eps, const float *weight, const float *bias, int silu, float *out) {
    GROUP_NORM_BODY(RECIPROCAL_AVX2)
}
#endif

#define RECIPROCAL_EXACT(d) (1.0f / (d))
static void group_norm_portable(const float *x, const float *shift, int channels, int batch, int pixels, int groups,
                                float eps, const float *weight, const float *bias, int silu, float *out) {
    GROUP_NORM_BODY(RECIPROCAL_EXACT)
}

void tandem_group_norm(const float *x, const float *shift, int channels, int batch, int pixels, int groups,
                       float eps, const float *weight, const float *bias, int silu, float *out) {
    const int level = tandem_conv_best_level();  // cheap after the first call; no shared state to race on
#if defined(__x86_64__)
    if (level >= 2) { group_norm_avx512(x, shift, channels, batch, pixels, groups, eps, weight, bias, silu, out); return; }
    if (level == 1) { group_norm_avx2(x, shift, channels, batch, pixels, groups, eps, weight, bias, silu, out); return; }
#endif
    group_norm_portable(x, shift, channels, batch, pixels, groups, eps, weight, bias, silu, out);
}
