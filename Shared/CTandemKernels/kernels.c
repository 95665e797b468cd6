#include "CTandemKernels.h"

#include <math.h>
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

/// Bytes ahead of the current block that the panel kernels prefetch, within the call's panels (weights
/// stream from memory once per token; without it the loads wait on each cache line in turn).
#define PREFETCH_BYTES 2048

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/// The panel's rows that exist (the last panel of a matrix may be padded).
static inline void store_panel(__m256 v, float *out, int rows_left) {
    if (rows_left >= 8) { _mm256_storeu_ps(out, v); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    for (int r = 0; r < rows_left; r++) out[r] = tmp[r];
}

// One block of a panel times one token, as eight exact 32-bit sums (lane r: row r's 32 products).
// `q[c]` holds bytes 4c…4c+3 of every row's block (Q4_1: q[c] the low nibbles of chunk c, q[c+4]
// its high nibbles; Q8_0: the values plus 128), `y` the token's 32 activation bytes.
// Q4_1 on AVX2: eight `vpmaddubsw` summed in 16 bits (each pair sum ≤ 2·15·127, eight of them
// < 2¹⁵), widened once. With VNNI: `vpdpbusd` in two chains (their latency, not their count, bounds
// one chain of eight).
#define Q4_BLOCK_avx2(q, y, correction) ({                                                               \
    __m256i t_ = _mm256_maddubs_epi16((q)[0], _mm256_set1_epi32(load_i32((y))));                        \
    for (int c_ = 1; c_ < 8; c_++)                                                                       \
        t_ = _mm256_add_epi16(t_, _mm256_maddubs_epi16((q)[c_], _mm256_set1_epi32(load_i32((y) + 4 * c_)))); \
    _mm256_madd_epi16(t_, _mm256_set1_epi16(1)); })
#define VNNI_CHAINS(q, y, start) ({                                                                      \
    __m256i e_ = _mm256_dpbusd_epi32((start), (q)[0], _mm256_set1_epi32(load_i32((y))));                 \
    __m256i o_ = _mm256_dpbusd_epi32(_mm256_setzero_si256(), (q)[1], _mm256_set1_epi32(load_i32((y) + 4))); \
    for (int c_ = 2; c_ < 8; c_ += 2) {                                                                  \
        e_ = _mm256_dpbusd_epi32(e_, (q)[c_], _mm256_set1_epi32(load_i32((y) + 4 * c_)));                \
        o_ = _mm256_dpbusd_epi32(o_, (q)[c_ + 1], _mm256_set1_epi32(load_i32((y) + 4 * c_ + 4)));        \
    }                                                                                                    \
    _mm256_add_epi32(e_, o_); })
#define Q4_BLOCK_vnni(q, y, correction) VNNI_CHAINS(q, y, _mm256_setzero_si256())
// Q8_0 stores w+128 (unsigned). VNNI multiplies that directly and starts the sum at −128·Σy (the
// block's `correction`); AVX2 (`vpmaddubsw` would saturate on 255·127 pairs) recovers w and
// multiplies |w| by sign(w)·y.
#define Q8_BLOCK_avx2(q, y, correction) ({                                                               \
    __m256i t_ = _mm256_setzero_si256();                                                                 \
    for (int c_ = 0; c_ < 8; c_++) {                                                                     \
        const __m256i w_ = _mm256_xor_si256((q)[c_], _mm256_set1_epi8((char)0x80));                      \
        t_ = _mm256_add_epi32(t_, PRODUCT_AVX2(_mm256_sign_epi8(w_, w_),                                 \
                                               _mm256_sign_epi8(_mm256_set1_epi32(load_i32((y) + 4 * c_)), w_))); \
    }                                                                                                    \
    t_; })
#define Q8_BLOCK_vnni(q, y, correction) VNNI_CHAINS(q, y, _mm256_set1_epi32(correction))
#define Q8_CORRECTION_avx2(y) 0
#define Q8_CORRECTION_vnni(y) (-128 * hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), \
                                                                    _mm256_loadu_si256((const __m256i *)(y)))))

// The kernel family, once per instruction set. Every product is summed exactly in integers over its
// 32-value block, then scaled in floats once per block and row: acc = fma(Σ, d·dₓ, acc), the Q4_1
// offsets m·s summed apart, acc + offsets at the end. The row kernels, the panel kernels for any
// number of tokens per pass, both instruction sets and the scalar fallback therefore agree bit
// for bit, so a token's logits never depend on what shares its forward call.
#define DEFINE_KERNELS(SUFFIX, TARGET, PRODUCT)                                                          \
TARGET static float dot_q4_1_##SUFFIX(const void *w, const int8_t *xq, const float *xd, const float *xs, \
                                      int blocks) {                                                      \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    float acc = 0, offsets = 0;                                                                          \
    for (int i = 0; i < blocks; i++, b += 20) {                                                          \
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));                            \
        const int32_t sum = hsum_i32(PRODUCT(unpack_nibbles(b + 4), y));                                 \
        acc = fmaf((float)sum, half_to_float(b) * xd[i], acc);                                           \
        offsets = fmaf(half_to_float(b + 2), xs[i], offsets);                                            \
    }                                                                                                    \
    return acc + offsets;                                                                                \
}                                                                                                        \
TARGET static float dot_q8_0_##SUFFIX(const void *w, const int8_t *xq, const float *xd, int blocks) {    \
    const uint8_t *b = (const uint8_t *)w;                                                               \
    float acc = 0;                                                                                       \
    for (int i = 0; i < blocks; i++, b += 34) {                                                          \
        const __m256i q = _mm256_loadu_si256((const __m256i *)(b + 2));                                  \
        const __m256i y = _mm256_loadu_si256((const __m256i *)(xq + 32 * i));                            \
        const int32_t sum = hsum_i32(PRODUCT(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q)));           \
        acc = fmaf((float)sum, half_to_float(b) * xd[i], acc);                                           \
    }                                                                                                    \
    return acc;                                                                                          \
}                                                                                                        \
/* Panels of 8 rows (layout in CTandemKernels.h): lane r of every vector is row r of the panel. One  \
   pass unpacks a block once for `nt` tokens (a constant where it is inlined). */                       \
TARGET static inline __attribute__((always_inline)) void panel_q4_1_pass_##SUFFIX(                      \
        const uint8_t *b, const uint8_t *end, int blocks, int nt, const int8_t *const *y,                \
        const float *const *yd, const float *const *ys, float *const *out, int rows_left) {              \
    const __m256i low = _mm256_set1_epi8(0x0F);                                                          \
    __m256 acc[MAX_PASS_TOKENS], offsets[MAX_PASS_TOKENS];                                               \
    for (int u = 0; u < nt; u++) acc[u] = offsets[u] = _mm256_setzero_ps();                              \
    for (int i = 0; i < blocks; i++, b += 160) {                                                         \
        if (b + PREFETCH_BYTES + 160 <= end) {                                                           \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES), _MM_HINT_T0);                               \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES + 64), _MM_HINT_T0);                          \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES + 128), _MM_HINT_T0);                         \
        }                                                                                                \
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));                           \
        const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + 16)));                    \
        __m256i q[8];                                                                                    \
        for (int c = 0; c < 4; c++) {                                                                    \
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 32 + 32 * c));                    \
            q[c] = _mm256_and_si256(v, low);                                                             \
            q[c + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);                                   \
        }                                                                                                \
        for (int u = 0; u < nt; u++) {                                                                   \
            const __m256i sum = Q4_BLOCK_##SUFFIX(q, y[u] + 32 * i, 0);                                  \
            acc[u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, _mm256_set1_ps(yd[u][i])), acc[u]); \
            offsets[u] = _mm256_fmadd_ps(m, _mm256_set1_ps(ys[u][i]), offsets[u]);                       \
        }                                                                                                \
    }                                                                                                    \
    for (int u = 0; u < nt; u++) store_panel(_mm256_add_ps(acc[u], offsets[u]), out[u], rows_left);      \
}                                                                                                        \
TARGET static inline __attribute__((always_inline)) void panel_q8_0_pass_##SUFFIX(                      \
        const uint8_t *b, const uint8_t *end, int blocks, int nt, const int8_t *const *y,                \
        const float *const *yd, const int32_t *const *corrections, float *const *out, int rows_left) {   \
    __m256 acc[MAX_PASS_TOKENS];                                                                         \
    for (int u = 0; u < nt; u++) acc[u] = _mm256_setzero_ps();                                           \
    for (int i = 0; i < blocks; i++, b += 272) {                                                         \
        if (b + PREFETCH_BYTES + 272 <= end)                                                             \
            for (int l = 0; l < 5; l++) _mm_prefetch((const char *)(b + PREFETCH_BYTES + 64 * l), _MM_HINT_T0); \
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));                           \
        __m256i q[8];                                                                                    \
        for (int k = 0; k < 8; k++) q[k] = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * k));       \
        for (int u = 0; u < nt; u++) {                                                                   \
            const __m256i sum = Q8_BLOCK_##SUFFIX(q, y[u] + 32 * i, corrections[u][i]);                  \
            acc[u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, _mm256_set1_ps(yd[u][i])), acc[u]); \
        }                                                                                                \
    }                                                                                                    \
    for (int u = 0; u < nt; u++) store_panel(acc[u], out[u], rows_left);                                 \
}                                                                                                        \
/* A call: tokens in groups of up to PASS_TOKENS (outer), the chunk's panels inner, so they stay in \
   L1 across the groups; a group of n < PASS_TOKENS (the call's last) takes its own pass. */         \
TARGET static void panels_q4_1_##SUFFIX(const uint8_t *w, int rows, int blocks, const int8_t *xq,       \
                                        int xq_stride, const float *xd, const float *xs,                 \
                                        int scale_stride, int tokens, float *out, int out_stride) {      \
    const int panels = (rows + 7) / 8;                                                                   \
    const size_t panel_bytes = (size_t)blocks * 160;                                                     \
    const uint8_t *end = w + panels * panel_bytes;                                                       \
    for (int t = 0; t < tokens;) {                                                                       \
        const int nt = tokens - t >= PASS_TOKENS ? PASS_TOKENS : tokens - t;                             \
        const int8_t *y[MAX_PASS_TOKENS];                                                                \
        const float *yd[MAX_PASS_TOKENS], *ys[MAX_PASS_TOKENS];                                          \
        float *o[MAX_PASS_TOKENS];                                                                       \
        for (int u = 0; u < nt; u++) {                                                                   \
            y[u] = xq + (size_t)(t + u) * xq_stride;                                                     \
            yd[u] = xd + (size_t)(t + u) * scale_stride;                                                 \
            ys[u] = xs + (size_t)(t + u) * scale_stride;                                                 \
        }                                                                                                \
        for (int p = 0; p < panels; p++) {                                                               \
            for (int u = 0; u < nt; u++) o[u] = out + (size_t)(t + u) * out_stride + 8 * p;              \
            const uint8_t *panel = w + p * panel_bytes;                                                  \
            switch (nt) {                                                                                \
            PASS_CASES(panel_q4_1_pass_##SUFFIX(panel, end, blocks, PASS_N, y, yd, ys, o, rows - 8 * p))  \
            }                                                                                            \
        }                                                                                                \
        t += nt;                                                                                         \
    }                                                                                                    \
}                                                                                                        \
TARGET static void panels_q8_0_##SUFFIX(const uint8_t *w, int rows, int blocks, const int8_t *xq,       \
                                        int xq_stride, const float *xd, int scale_stride, int tokens,    \
                                        float *out, int out_stride) {                                    \
    const int panels = (rows + 7) / 8;                                                                   \
    const size_t panel_bytes = (size_t)blocks * 272;                                                     \
    const uint8_t *end = w + panels * panel_bytes;                                                       \
    int32_t correction_rows[MAX_PASS_TOKENS][blocks];                                                    \
    for (int t = 0; t < tokens;) {                                                                       \
        const int nt = tokens - t >= PASS_TOKENS ? PASS_TOKENS : tokens - t;                             \
        const int8_t *y[MAX_PASS_TOKENS];                                                                \
        const float *yd[MAX_PASS_TOKENS];                                                                \
        const int32_t *corrections[MAX_PASS_TOKENS];                                                     \
        float *o[MAX_PASS_TOKENS];                                                                       \
        for (int u = 0; u < nt; u++) {                                                                   \
            y[u] = xq + (size_t)(t + u) * xq_stride;                                                     \
            yd[u] = xd + (size_t)(t + u) * scale_stride;                                                 \
            for (int i = 0; i < blocks; i++) correction_rows[u][i] = Q8_CORRECTION_##SUFFIX(y[u] + 32 * i); \
            corrections[u] = correction_rows[u];                                                         \
        }                                                                                                \
        for (int p = 0; p < panels; p++) {                                                               \
            for (int u = 0; u < nt; u++) o[u] = out + (size_t)(t + u) * out_stride + 8 * p;              \
            const uint8_t *panel = w + p * panel_bytes;                                                  \
            switch (nt) {                                                                                \
            PASS_CASES(panel_q8_0_pass_##SUFFIX(panel, end, blocks, PASS_N, y, yd, corrections, o, rows - 8 * p)) \
            }                                                                                            \
        }                                                                                                \
        t += nt;                                                                                         \
    }                                                                                                    \
}

// Tokens per panel pass: with integer block sums a token holds two vector registers (its float sum
// and its offsets), so AVX-512's 32 registers take four tokens beside the eight unpacked chunks;
// AVX2's 16 take two. Each pass size is its own inlined copy with the count a constant.
#define MAX_PASS_TOKENS 4
#define PASS_TOKENS 2
#define PASS_CASES(call) case 2: { enum { PASS_N = 2 }; call; break; } default: { enum { PASS_N = 1 }; call; break; }
DEFINE_KERNELS(avx2, TARGET_AVX2, PRODUCT_AVX2)
#undef PASS_TOKENS
#undef PASS_CASES
#define PASS_TOKENS 4
#define PASS_CASES(call) case 4: { enum { PASS_N = 4 }; call; break; } case 3: { enum { PASS_N = 3 }; call; break; } \
                         case 2: { enum { PASS_N = 2 }; call; break; } default: { enum { PASS_N = 1 }; call; break; }
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

/// Rows from `width0` on, one row at a time, with `VectorMath.addScaled`'s arithmetic: 8-float
/// chunks fused, the last width % 8 floats unfused.
static inline void weighted_rows_tail(float *y, const float *rows, int stride, const float *weights, int count, int width0, int width) {
    for (int j = 0; j < count; j++) {
        const float a = weights[j], *x = rows + (size_t)j * stride;
        int e = width0;
        for (; e + 8 <= width; e += 8) _mm256_storeu_ps(y + e, _mm256_fmadd_ps(_mm256_set1_ps(a), _mm256_loadu_ps(x + e), _mm256_loadu_ps(y + e)));
        for (; e < width; e++) {
            const float product = a * x[e];
            y[e] = y[e] + product;
        }
    }
}

static void weighted_rows_avx2(float *y, const float *rows, int stride, const float *weights, int count, int width) {
    int d = 0;
    for (; d + 32 <= width; d += 32) {
        __m256 a[4];
        for (int k = 0; k < 4; k++) a[k] = _mm256_loadu_ps(y + d + 8 * k);
        for (int j = 0; j < count; j++) {
            const __m256 w = _mm256_set1_ps(weights[j]);
            const float *x = rows + (size_t)j * stride + d;
            for (int k = 0; k < 4; k++) a[k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8 * k), a[k]);
        }
        for (int k = 0; k < 4; k++) _mm256_storeu_ps(y + d + 8 * k, a[k]);
    }
    weighted_rows_tail(y, rows, stride, weights, count, d, width);
}

TARGET_VNNI static void weighted_rows_avx512(float *y, const float *rows, int stride, const float *weights, int count, int width) {
    int d = 0;
    for (; d + 64 <= width; d += 64) {
        __m512 a[4];
        for (int k = 0; k < 4; k++) a[k] = _mm512_loadu_ps(y + d + 16 * k);
        for (int j = 0; j < count; j++) {
            const __m512 w = _mm512_set1_ps(weights[j]);
            const float *x = rows + (size_t)j * stride + d;
            for (int k = 0; k < 4; k++) a[k] = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + 16 * k), a[k]);
        }
        for (int k = 0; k < 4; k++) _mm512_storeu_ps(y + d + 16 * k, a[k]);
    }
    for (; d + 16 <= width; d += 16) {
        __m512 a = _mm512_loadu_ps(y + d);
        for (int j = 0; j < count; j++) a = _mm512_fmadd_ps(_mm512_set1_ps(weights[j]), _mm512_loadu_ps(rows + (size_t)j * stride + d), a);
        _mm512_storeu_ps(y + d, a);
    }
    weighted_rows_tail(y, rows, stride, weights, count, d, width);
}

void ctk_add_weighted_rows(float *y, const float *rows, int stride, const float *weights, int count, int width) {
    if (use_vnni()) weighted_rows_avx512(y, rows, stride, weights, count, width);
    else weighted_rows_avx2(y, rows, stride, weights, count, width);
}

void ctk_panels_q4_1_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        const float *xs, int scale_stride, int tokens, float *out, int out_stride) {
    if (use_vnni()) panels_q4_1_vnni(w, rows, blocks, xq, xq_stride, xd, xs, scale_stride, tokens, out, out_stride);
    else panels_q4_1_avx2(w, rows, blocks, xq, xq_stride, xd, xs, scale_stride, tokens, out, out_stride);
}

// Attention scores, four keys at a time, each dot as `VectorMath.dot` sums it: elements 16c…16c+7
// into one 8-lane accumulator and 16c+8…16c+15 into another (fused, c in order), the two added,
// then the eight lanes one after another. AVX-512 holds both accumulators in one 16-lane register
// (lanes 0–7 and 8–15): the same operations in the same order, half the instructions.

/// Four keys' added accumulators → their dots: the lanes transposed so that the four sequential
/// lane sums run side by side, then the elements past the last 16 one at a time, unfused.
static inline __m128 four_key_sums(__m256 v0, __m256 v1, __m256 v2, __m256 v3, const float *q, const float *k, int k_stride, int c, int dim) {
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
    const __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    // lXY holds lane X of the four keys in its low half and lane Y in its high half.
    const __m256 l04 = _mm256_shuffle_ps(t0, t2, 0x44), l15 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 l26 = _mm256_shuffle_ps(t1, t3, 0x44), l37 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(l04), _mm256_castps256_ps128(l15));
    sum = _mm_add_ps(sum, _mm256_castps256_ps128(l26));
    sum = _mm_add_ps(sum, _mm256_castps256_ps128(l37));
    sum = _mm_add_ps(sum, _mm256_extractf128_ps(l04, 1));
    sum = _mm_add_ps(sum, _mm256_extractf128_ps(l15, 1));
    sum = _mm_add_ps(sum, _mm256_extractf128_ps(l26, 1));
    sum = _mm_add_ps(sum, _mm256_extractf128_ps(l37, 1));
    if (c < dim) {
        float out[4];
        _mm_storeu_ps(out, sum);
        for (int i = 0; i < 4; i++)
            for (int e = c; e < dim; e++) {
                const float product = q[e] * k[(size_t)i * k_stride + e];
                out[i] = out[i] + product;
            }
        sum = _mm_loadu_ps(out);
    }
    return sum;
}

static inline __m128 four_key_dots_avx2(const float *q, const float *k, int k_stride, int dim) {
    __m256 even[4], odd[4];
    for (int i = 0; i < 4; i++) even[i] = odd[i] = _mm256_setzero_ps();
    int c = 0;
    for (; c + 16 <= dim; c += 16) {
        const __m256 qa = _mm256_loadu_ps(q + c), qb = _mm256_loadu_ps(q + c + 8);
        for (int i = 0; i < 4; i++) {
            even[i] = _mm256_fmadd_ps(qa, _mm256_loadu_ps(k + (size_t)i * k_stride + c), even[i]);
            odd[i] = _mm256_fmadd_ps(qb, _mm256_loadu_ps(k + (size_t)i * k_stride + c + 8), odd[i]);
        }
    }
    return four_key_sums(_mm256_add_ps(even[0], odd[0]), _mm256_add_ps(even[1], odd[1]), _mm256_add_ps(even[2], odd[2]),
                         _mm256_add_ps(even[3], odd[3]), q, k, k_stride, c, dim);
}

TARGET_VNNI static inline __m256 even_plus_odd(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

TARGET_VNNI static inline __m128 four_key_dots_avx512(const float *q, const float *k, int k_stride, int dim) {
    __m512 both[4];
    for (int i = 0; i < 4; i++) both[i] = _mm512_setzero_ps();
    int c = 0;
    for (; c + 16 <= dim; c += 16) {
        const __m512 qv = _mm512_loadu_ps(q + c);
        for (int i = 0; i < 4; i++) both[i] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k + (size_t)i * k_stride + c), both[i]);
    }
    return four_key_sums(even_plus_odd(both[0]), even_plus_odd(both[1]), even_plus_odd(both[2]), even_plus_odd(both[3]), q, k, k_stride, c, dim);
}

/// `VectorMath.exp8`'s arithmetic (the same constants, operations and order, nothing fused).
static inline __m256 exp8(__m256 x) {
    const __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(c, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_sub_ps(_mm256_sub_ps(c, _mm256_mul_ps(n, _mm256_set1_ps(0.69314575f))),
                                   _mm256_mul_ps(n, _mm256_set1_ps(1.4286068e-6f)));
    static const float coefficients[6] = {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
    __m256 p = _mm256_set1_ps(1.0f / 720);
    for (int i = 0; i < 6; i++) p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(coefficients[i]));
    const __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(12582912.0f))),
                                             _mm256_set1_epi32(0x4B400000));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(127)), 23)));
}

void ctk_softmax(float *x, int count) {
    float m = -INFINITY;
    int i = 0;
    if (count >= 8) {
        __m256 mv = _mm256_set1_ps(-INFINITY);
        for (; i + 8 <= count; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
        float lanes[8];
        _mm256_storeu_ps(lanes, mv);
        for (int l = 0; l < 8; l++) m = lanes[l] >= m ? lanes[l] : m;
    }
    for (; i < count; i++) m = x[i] >= m ? x[i] : m;
    const __m256 mv = _mm256_set1_ps(m);
    __m256 acc = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= count; j += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv));
        _mm256_storeu_ps(x + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float lanes[8], sum = -0.0f;
    _mm256_storeu_ps(lanes, acc);
    for (int l = 0; l < 8; l++) sum = sum + lanes[l];
    for (; j < count; j++) { x[j] = expf(x[j] - m); sum = sum + x[j]; }
    const float inv = 1 / sum;
    const __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
    for (; i < count; i++) x[i] = x[i] * inv;
}

// The scores of every query against keys in groups of four; a last group of fewer is copied next
// to zeros (the same arithmetic per key, and no read past the cache's rows).
#define DEFINE_ATTENTION_SCORES(SUFFIX, TARGET)                                                          \
TARGET static void attention_scores_##SUFFIX(const float *q, int q_stride, int queries, const float *k, int k_stride, \
                                             int keys, int dim, float scale, float *scores, int score_stride) { \
    const __m128 s = _mm_set1_ps(scale);                                                                 \
    for (int j = 0; j < keys; j += 4) {                                                                  \
        const int n = keys - j < 4 ? keys - j : 4;                                                       \
        float padded[n < 4 ? 4 * dim : 1];                                                               \
        const float *rows = k + (size_t)j * k_stride;                                                    \
        int stride = k_stride;                                                                           \
        if (n < 4) {                                                                                     \
            memset(padded, 0, sizeof(float) * 4 * dim);                                                  \
            for (int i = 0; i < n; i++) memcpy(padded + i * dim, rows + (size_t)i * k_stride, sizeof(float) * dim); \
            rows = padded;                                                                               \
            stride = dim;                                                                                \
        }                                                                                                \
        for (int r = 0; r < queries; r++) {                                                              \
            const __m128 v = _mm_mul_ps(four_key_dots_##SUFFIX(q + (size_t)r * q_stride, rows, stride, dim), s); \
            float *out = scores + (size_t)r * score_stride + j;                                          \
            if (n == 4) _mm_storeu_ps(out, v);                                                           \
            else {                                                                                       \
                float tmp[4];                                                                            \
                _mm_storeu_ps(tmp, v);                                                                   \
                for (int i = 0; i < n; i++) out[i] = tmp[i];                                             \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
}
DEFINE_ATTENTION_SCORES(avx2, TARGET_AVX2)
DEFINE_ATTENTION_SCORES(avx512, TARGET_VNNI)

void ctk_attention_scores(const float *q, int q_stride, int queries, const float *k, int k_stride, int keys, int dim,
                          float scale, float *scores, int score_stride) {
    if (use_vnni()) attention_scores_avx512(q, q_stride, queries, k, k_stride, keys, dim, scale, scores, score_stride);
    else attention_scores_avx2(q, q_stride, queries, k, k_stride, keys, dim, scale, scores, score_stride);
}

void ctk_panels_q8_0_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        int scale_stride, int tokens, float *out, int out_stride) {
    if (use_vnni()) panels_q8_0_vnni(w, rows, blocks, xq, xq_stride, xd, scale_stride, tokens, out, out_stride);
    else panels_q8_0_avx2(w, rows, blocks, xq, xq_stride, xd, scale_stride, tokens, out, out_stride);
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

// The vector kernels' arithmetic: exact integer sums per block, one fma per block, offsets apart.
static float nibble_blocks(const uint8_t *b, int stride, int qs_offset, int is_q4_1, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    float acc = 0, offsets = 0;
    for (int i = 0; i < blocks; i++, b += stride) {
        const int offset = is_q4_1 ? 0 : 8;
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((b[qs_offset + j] & 0x0F) - offset) * xq[32 * i + j];
            sum += ((b[qs_offset + j] >> 4) - offset) * xq[32 * i + j + 16];
        }
        acc = fmaf((float)sum, half_to_float(b) * xd[i], acc);
        if (is_q4_1) offsets = fmaf(half_to_float(b + 2), xs[i], offsets);
    }
    return acc + offsets;
}

float ctk_dot_q4_1_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    return nibble_blocks((const uint8_t *)w, 20, 4, 1, xq, xd, xs, blocks);
}

float ctk_dot_q4_0_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks) {
    return nibble_blocks((const uint8_t *)w, 18, 2, 0, xq, xd, xs, blocks);
}

float ctk_dot_q8_0_q8(const void *w, const int8_t *xq, const float *xd, int blocks) {
    const uint8_t *b = (const uint8_t *)w;
    float acc = 0;
    for (int i = 0; i < blocks; i++, b += 34) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)b[2 + j] * xq[32 * i + j];
        acc = fmaf((float)sum, half_to_float(b) * xd[i], acc);
    }
    return acc;
}

// Panels, one row at a time with the arithmetic of the row kernels.
void ctk_panels_q4_1_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        const float *xs, int scale_stride, int tokens, float *out, int out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int row = 0; row < rows; row++) {
            const uint8_t *b = (const uint8_t *)w + (size_t)(row / 8) * blocks * 160;
            const int r = row % 8;
            const int8_t *y = xq + (size_t)t * xq_stride;
            float acc = 0, offsets = 0;
            for (int i = 0; i < blocks; i++, b += 160) {
                int sum = 0;
                for (int c = 0; c < 4; c++)
                    for (int e = 0; e < 4; e++) {
                        const uint8_t q = b[32 + 32 * c + 4 * r + e];
                        sum += (q & 0x0F) * y[32 * i + 4 * c + e] + (q >> 4) * y[32 * i + 16 + 4 * c + e];
                    }
                acc = fmaf((float)sum, half_to_float(b + 2 * r) * xd[(size_t)t * scale_stride + i], acc);
                offsets = fmaf(half_to_float(b + 16 + 2 * r), xs[(size_t)t * scale_stride + i], offsets);
            }
            out[(size_t)t * out_stride + row] = acc + offsets;
        }
}

void ctk_panels_q8_0_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        int scale_stride, int tokens, float *out, int out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int row = 0; row < rows; row++) {
            const uint8_t *b = (const uint8_t *)w + (size_t)(row / 8) * blocks * 272;
            const int r = row % 8;
            const int8_t *y = xq + (size_t)t * xq_stride;
            float acc = 0;
            for (int i = 0; i < blocks; i++, b += 272) {
                int sum = 0;
                for (int k = 0; k < 8; k++)
                    for (int e = 0; e < 4; e++) sum += (int8_t)(b[16 + 32 * k + 4 * r + e] ^ 0x80) * y[32 * i + 4 * k + e];
                acc = fmaf((float)sum, half_to_float(b + 2 * r) * xd[(size_t)t * scale_stride + i], acc);
            }
            out[(size_t)t * out_stride + row] = acc;
        }
}

void ctk_attention_scores(const float *q, int q_stride, int queries, const float *k, int k_stride, int keys, int dim,
                          float scale, float *scores, int score_stride) {
    for (int r = 0; r < queries; r++)
        for (int j = 0; j < keys; j++) {
            const float *qr = q + (size_t)r * q_stride, *kj = k + (size_t)j * k_stride;
            float even[8] = {0}, odd[8] = {0};
            int c = 0;
            for (; c + 16 <= dim; c += 16)
                for (int l = 0; l < 8; l++) {
                    even[l] = fmaf(qr[c + l], kj[c + l], even[l]);
                    odd[l] = fmaf(qr[c + 8 + l], kj[c + 8 + l], odd[l]);
                }
            float sum = even[0] + odd[0];
            for (int l = 1; l < 8; l++) sum = sum + (even[l] + odd[l]);
            for (; c < dim; c++) {
                const float product = qr[c] * kj[c];
                sum = sum + product;
            }
            scores[(size_t)r * score_stride + j] = sum * scale;
        }
}

static float exp_lane(float x) {
    const float c = fminf(fmaxf(x, -87.0f), 88.0f);
    const float n = nearbyintf(c * 1.44269504f);
    const float nlow = n * 0.69314575f, nhigh = n * 1.4286068e-6f;
    const float f = (c - nlow) - nhigh;
    static const float coefficients[6] = {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
    float p = 1.0f / 720;
    for (int i = 0; i < 6; i++) { const float pf = p * f; p = pf + coefficients[i]; }
    const float shifted = n + 12582912.0f;
    int32_t integer, bits;
    memcpy(&integer, &shifted, 4);
    bits = (integer - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

void ctk_softmax(float *x, int count) {
    float m = -INFINITY;
    for (int i = 0; i < count; i++) m = x[i] >= m ? x[i] : m;
    float lanes[8] = {0};
    int j = 0;
    for (; j + 8 <= count; j += 8)
        for (int l = 0; l < 8; l++) { x[j + l] = exp_lane(x[j + l] - m); lanes[l] = lanes[l] + x[j + l]; }
    float sum = -0.0f;
    for (int l = 0; l < 8; l++) sum = sum + lanes[l];
    for (; j < count; j++) { x[j] = expf(x[j] - m); sum = sum + x[j]; }
    const float inv = 1 / sum;
    for (int i = 0; i < count; i++) x[i] = x[i] * inv;
}

void ctk_add_weighted_rows(float *y, const float *rows, int stride, const float *weights, int count, int width) {
    const int fused = width / 8 * 8;
    for (int j = 0; j < count; j++)
        for (int e = 0; e < width; e++) {
            const float a = weights[j], x = rows[(size_t)j * stride + e];
            if (e < fused) y[e] = fmaf(a, x, y[e]);
            else { const float product = a * x; y[e] = y[e] + product; }
        }
}

int ctk_uses_vnni(void) { return 0; }

#endif
