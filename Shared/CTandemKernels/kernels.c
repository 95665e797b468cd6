#include "CTandemKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The 32 nibbles of a Q4 block as bytes: low nibbles are elements 0–15, high nibbles 16–31.
static inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

// Σ u·s over 32 unsigned × signed bytes, as eight 32-bit sums: `vpmaddubsw` + `vpmaddwd` on AVX2,
// one `vpdpbusd` with AVX-512 VNNI. (maddubs cannot saturate here: |u|≤128, |s|≤127, pairs ≤ 32512.)
#define PRODUCT_AVX2(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#define PRODUCT_VNNI(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#define TARGET_AVX2
#define TARGET_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

// The kernel family, once per instruction set. Signed × signed (Q8_0) uses |q| · (sign(q)·y).
#define DEFINE_KERNELS(SUFFIX, TARGET, PRODUCT)                                                          \
TARGET static float dot_q4_1_##SUFFIX(const void *w, const int8_t *xq, const float *xd, const float *xs, \
                                      int blocks) {                                                      \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    __m256 acc = _mm256_setzero_ps();                                                                    \
    float offsets = 0;                                                                                   \
    for (int i = 0; i < blocks; i++, b += 20) {                                                          \
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));                            \
        const __m256i s = PRODUCT(unpack_nibbles(b + 4), y);                                             \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half_to_float(b) * xd[i]), acc);     \
        offsets += half_to_float(b + 2) * xs[i];                                                         \
    }                                                                                                    \
    return hsum(acc) + offsets;                                                                          \
}                                                                                                        \
TARGET static float dot_q8_0_##SUFFIX(const void *w, const int8_t *xq, const float *xd, int blocks) {    \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    __m256 acc = _mm256_setzero_ps();                                                                    \
    for (int i = 0; i < blocks; i++, b += 34) {                                                          \
        const __m256i q = _mm256_loadu_si256((const __m256i *)(b + 2));                                  \
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));                            \
        const __m256i s = PRODUCT(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));                       \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half_to_float(b) * xd[i]), acc);     \
    }                                                                                                    \
    return hsum(acc);                                                                                    \
}                                                                                                        \
/* Four activation rows, one weight row: the weight block is unpacked once. */                          \
TARGET static void dot4_q4_1_##SUFFIX(const void *w, const int8_t *xq, int xq_stride, const float *xd,  \
                                      const float *xs, int scale_stride, int blocks, float *out) {       \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
    float offsets[4] = {0, 0, 0, 0};                                                                     \
    for (int i = 0; i < blocks; i++, b += 20) {                                                          \
        const float d = half_to_float(b), m = half_to_float(b + 2);                                      \
        const __m256i q = unpack_nibbles(b + 4);                                                         \
        for (int r = 0; r < 4; r++) {                                                                    \
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + r * xq_stride + 32 * i));        \
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PRODUCT(q, y)),                                  \
                                     _mm256_set1_ps(d * xd[r * scale_stride + i]), acc[r]);              \
            offsets[r] += m * xs[r * scale_stride + i];                                                  \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < 4; r++) out[r] = hsum(acc[r]) + offsets[r];                                      \
}                                                                                                        \
TARGET static void dot4_q8_0_##SUFFIX(const void *w, const int8_t *xq, int xq_stride, const float *xd,  \
                                      int scale_stride, int blocks, float *out) {                        \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
    for (int i = 0; i < blocks; i++, b += 34) {                                                          \
        const float d = half_to_float(b);                                                                \
        const __m256i q = _mm256_loadu_si256((const __m256i *)(b + 2));                                  \
        const __m256i aq = _mm256_sign_epi8(q, q);                                                       \
        for (int r = 0; r < 4; r++) {                                                                    \
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + r * xq_stride + 32 * i));        \
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PRODUCT(aq, _mm256_sign_epi8(y, q))),            \
                                     _mm256_set1_ps(d * xd[r * scale_stride + i]), acc[r]);              \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < 4; r++) out[r] = hsum(acc[r]);                                                   \
}                                                                                                        \
/* One activation row, four weight rows: the activation block is loaded once. */                        \
TARGET static void rows4_q4_1_##SUFFIX(const void *w, int row_bytes, const int8_t *xq, const float *xd, \
                                       const float *xs, int blocks, float *out) {                        \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
    float offsets[4] = {0, 0, 0, 0};                                                                     \
    for (int i = 0; i < blocks; i++) {                                                                   \
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));                            \
        for (int r = 0; r < 4; r++) {                                                                    \
            const uint8_t *blk = b + r * row_bytes + 20 * i;                                             \
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PRODUCT(unpack_nibbles(blk + 4), y)),            \
                                     _mm256_set1_ps(half_to_float(blk) * xd[i]), acc[r]);                \
            offsets[r] += half_to_float(blk + 2) * xs[i];                                                \
        }                                                                                                \
    }                                                                                                    \
    for (int r = 0; r < 4; r++) out[r] = hsum(acc[r]) + offsets[r];                                      \
}

DEFINE_KERNELS(avx2, TARGET_AVX2, PRODUCT_AVX2)
DEFINE_KERNELS(vnni, TARGET_VNNI, PRODUCT_VNNI)

float ctk_dot_q4_0_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    (void)xs;  // (nibble − 8)·x is summed exactly in integers, as llama.cpp's q4_0 × q8_0
    const uint8_t *b = (const uint8_t *)w;
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < blocks; i++, b += 18) {
        const __m256i q = _mm256_sub_epi8(unpack_nibbles(b + 2), _mm256_set1_epi8(8));
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));
        const __m256i s = PRODUCT_AVX2(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half_to_float(b) * xd[i]), acc);
    }
    return hsum(acc);
}

// AVX-512 VNNI is chosen at run time: the package is built for AVX2, and only some machines have it.
static int vnni_state = -1;  // -1: not checked yet (a benign race: every thread computes the same)

static inline int use_vnni(void) {
    if (vnni_state < 0) {
        __builtin_cpu_init();
        const char *off = getenv("TANDEM_NO_VNNI");
        vnni_state = (!off || !*off) && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512bw");
    }
    return vnni_state;
}

int ctk_uses_vnni(void) { return use_vnni(); }

float ctk_dot_q4_1_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    return use_vnni() ? dot_q4_1_vnni(w, xq, xd, xs, blocks) : dot_q4_1_avx2(w, xq, xd, xs, blocks);
}

float ctk_dot_q8_0_q8(const void *w, const int8_t *xq, const float *xd, int blocks) {
    return use_vnni() ? dot_q8_0_vnni(w, xq, xd, blocks) : dot_q8_0_avx2(w, xq, xd, blocks);
}

void ctk_dot4_q4_1_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd, const float *xs,
                      int scale_stride, int blocks, float *out) {
    if (use_vnni()) dot4_q4_1_vnni(w, xq, xq_stride, xd, xs, scale_stride, blocks, out);
    else dot4_q4_1_avx2(w, xq, xq_stride, xd, xs, scale_stride, blocks, out);
}

void ctk_dot4_q8_0_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd,
                      int scale_stride, int blocks, float *out) {
    if (use_vnni()) dot4_q8_0_vnni(w, xq, xq_stride, xd, scale_stride, blocks, out);
    else dot4_q8_0_avx2(w, xq, xq_stride, xd, scale_stride, blocks, out);
}

void ctk_dot_rows4_q4_1_q8(const void *w, int row_bytes, const int8_t *xq, const float *xd, const float *xs,
                           int blocks, float *out) {
    if (use_vnni()) rows4_q4_1_vnni(w, row_bytes, xq, xd, xs, blocks, out);
    else rows4_q4_1_avx2(w, row_bytes, xq, xd, xs, blocks, out);
}

#else  // Portable fallback: the same arithmetic, one value at a time.

static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        if (mant == 0) { bits = sign; }
        else { exp = 127 - 15 + 1; while (!(mant & 0x400)) { mant <<= 1; exp--; } mant &= 0x3FF; bits = sign | (exp << 23) | (mant << 13); }
    } else if (exp == 31) { bits = sign | 0x7F800000 | (mant << 13); }
    else { bits = sign | ((exp + 127 - 15) << 23) | (mant << 13); }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float nibble_blocks(const uint8_t *b, int stride, int qs_offset, int is_q4_1, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    float total = 0;
    for (int i = 0; i < blocks; i++, b += stride) {
        const int offset = is_q4_1 ? 0 : 8;
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((b[qs_offset + j] & 0x0F) - offset) * xq[32 * i + j];
            sum += ((b[qs_offset + j] >> 4) - offset) * xq[32 * i + j + 16];
        }
        const float d = half_to_float(b);
        total += d * xd[i] * (float)sum + (is_q4_1 ? half_to_float(b + 2) * xs[i] : 0);
    }
    return total;
}

float ctk_dot_q4_1_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    return nibble_blocks((const uint8_t *)w, 20, 4, 1, xq, xd, xs, blocks);
}

float ctk_dot_q4_0_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    return nibble_blocks((const uint8_t *)w, 18, 2, 0, xq, xd, xs, blocks);
}

float ctk_dot_q8_0_q8(const void *w, const int8_t *xq, const float *xd, int blocks) {
    const uint8_t *b = (const uint8_t *)w;
    float total = 0;
    for (int i = 0; i < blocks; i++, b += 34) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)b[2 + j] * xq[32 * i + j];
        total += half_to_float(b) * xd[i] * (float)sum;
    }
    return total;
}

void ctk_dot4_q4_1_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd, const float *xs,
                      int scale_stride, int blocks, float *out) {
    for (int r = 0; r < 4; r++)
        out[r] = ctk_dot_q4_1_q8(w, xq + r * xq_stride, xd + r * scale_stride, xs + r * scale_stride, blocks);
}

void ctk_dot4_q8_0_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd,
                      int scale_stride, int blocks, float *out) {
    for (int r = 0; r < 4; r++) out[r] = ctk_dot_q8_0_q8(w, xq + r * xq_stride, xd + r * scale_stride, blocks);
}

void ctk_dot_rows4_q4_1_q8(const void *w, int row_bytes, const int8_t *xq, const float *xd, const float *xs,
                           int blocks, float *out) {
    for (int r = 0; r < 4; r++) out[r] = ctk_dot_q4_1_q8((const uint8_t *)w + r * row_bytes, xq, xd, xs, blocks);
}

int ctk_uses_vnni(void) { return 0; }

#endif
