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

/// Bytes ahead of the current block that the panel kernels prefetch, within the call's panels (weights
/// stream from memory once per token; without it the loads wait on each cache line in turn).
#define PREFETCH_BYTES 2048

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// Per row (lane), hsum's order: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)), then the offsets.
static inline __m256 hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6,
                           __m256 a7, __m256 offsets) {
    const __m256 even = _mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6));
    const __m256 odd = _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7));
    return _mm256_add_ps(_mm256_add_ps(even, odd), offsets);
}

/// The panel's rows that exist (the last panel of a matrix may be padded).
static inline void store_panel(__m256 v, float *out, int rows_left) {
    if (rows_left >= 8) { _mm256_storeu_ps(out, v); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    for (int r = 0; r < rows_left; r++) out[r] = tmp[r];
}

// Q8_0 panels store w+128 (unsigned). VNNI multiplies that directly and starts each sum at −128·Σy
// of the four activations; AVX2 (`vpmaddubsw` would saturate on 255·127 pairs) recovers w.
#define Q8_PRODUCT_avx2(v, y, correction) ({                                                              \
    const __m256i w_ = _mm256_xor_si256((v), _mm256_set1_epi8((char)0x80));                             \
    PRODUCT_AVX2(_mm256_sign_epi8(w_, w_), _mm256_sign_epi8((y), w_)); })
#define Q8_PRODUCT_vnni(v, y, correction) _mm256_dpbusd_epi32(_mm256_set1_epi32(correction), (v), (y))
#define Q8_CORRECTIONS_avx2(y, blocks, corrections) (void)corrections;
#define Q8_CORRECTIONS_vnni(y, blocks, corrections)                                                      \
    for (int i = 0; i < (blocks); i++) {                                                                 \
        const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1),           \
                                                 _mm256_loadu_si256((const __m256i *)((y) + 32 * i)));   \
        _mm256_storeu_si256((__m256i *)((corrections) + 8 * i), _mm256_sub_epi32(_mm256_setzero_si256(), \
                                                                                 _mm256_slli_epi32(sums, 7))); \
    }

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
/* Panels of 8 rows (layout in CTandemKernels.h): lane r of every vector is row r of the panel.    \
   Per row this is dot_q4_1's arithmetic in the same order: accumulator j holds what lane j of      \
   dot_q4_1's accumulator holds, and the final sum adds them as hsum does. One pass unpacks a        \
   block once for `nt` tokens (a constant where it is inlined). */                                  \
TARGET static inline __attribute__((always_inline)) void panel_q4_1_pass_##SUFFIX(                      \
        const uint8_t *b, const uint8_t *end, int blocks, int nt, const int8_t *const *y,                \
        const float *const *yd, const float *const *ys, float *const *out, int rows_left) {              \
    const __m256i low = _mm256_set1_epi8(0x0F);                                                          \
    __m256 a[MAX_PASS_TOKENS][8], offsets[MAX_PASS_TOKENS];                                              \
    for (int u = 0; u < nt; u++) {                                                                       \
        offsets[u] = _mm256_setzero_ps();                                                                \
        for (int j = 0; j < 8; j++) a[u][j] = _mm256_setzero_ps();                                       \
    }                                                                                                    \
    for (int i = 0; i < blocks; i++, b += 160) {                                                         \
        if (b + PREFETCH_BYTES + 160 <= end) {                                                           \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES), _MM_HINT_T0);                               \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES + 64), _MM_HINT_T0);                          \
            _mm_prefetch((const char *)(b + PREFETCH_BYTES + 128), _MM_HINT_T0);                         \
        }                                                                                                \
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));                           \
        const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + 16)));                    \
        __m256i q[8];  /* q[c]: low nibbles of chunk c (lane j = c); q[c+4]: high (lane j = c+4) */     \
        for (int c = 0; c < 4; c++) {                                                                    \
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 32 + 32 * c));                    \
            q[c] = _mm256_and_si256(v, low);                                                             \
            q[c + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);                                   \
        }                                                                                                \
        for (int u = 0; u < nt; u++) {                                                                   \
            const __m256 dx = _mm256_mul_ps(d, _mm256_set1_ps(yd[u][i]));                                \
            offsets[u] = _mm256_fmadd_ps(m, _mm256_set1_ps(ys[u][i]), offsets[u]);                       \
            for (int j = 0; j < 8; j++)                                                                  \
                a[u][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(PRODUCT(q[j],                               \
                    _mm256_set1_epi32(load_i32(y[u] + 32 * i + 4 * j)))), dx, a[u][j]);                   \
        }                                                                                                \
    }                                                                                                    \
    for (int u = 0; u < nt; u++)                                                                         \
        store_panel(hsum8(a[u][0], a[u][1], a[u][2], a[u][3], a[u][4], a[u][5], a[u][6], a[u][7],        \
                          offsets[u]), out[u], rows_left);                                               \
}                                                                                                        \
TARGET static void panels_q4_1_##SUFFIX(const uint8_t *w, int rows, int blocks, const int8_t *xq,       \
                                        int xq_stride, const float *xd, const float *xs,                 \
                                        int scale_stride, int tokens, float *out, int out_stride) {      \
    const int panels = (rows + 7) / 8;                                                                   \
    const size_t panel_bytes = (size_t)blocks * 160;                                                     \
    const uint8_t *end = w + panels * panel_bytes;                                                       \
    for (int t = 0; t < tokens;) {                                                                       \
        const int nt = tokens - t >= PASS_TOKENS ? PASS_TOKENS : 1;                                      \
        const int8_t *y[MAX_PASS_TOKENS];                                                                \
        const float *yd[MAX_PASS_TOKENS], *ys[MAX_PASS_TOKENS];                                          \
        float *o[MAX_PASS_TOKENS];                                                                       \
        for (int p = 0; p < panels; p++) {                                                               \
            for (int u = 0; u < nt; u++) {                                                               \
                y[u] = xq + (size_t)(t + u) * xq_stride;                                                 \
                yd[u] = xd + (size_t)(t + u) * scale_stride;                                             \
                ys[u] = xs + (size_t)(t + u) * scale_stride;                                             \
                o[u] = out + (size_t)(t + u) * out_stride + 8 * p;                                       \
            }                                                                                            \
            if (nt == PASS_TOKENS) panel_q4_1_pass_##SUFFIX(w + p * panel_bytes, end, blocks, PASS_TOKENS, y, yd, ys, o, rows - 8 * p); \
            else panel_q4_1_pass_##SUFFIX(w + p * panel_bytes, end, blocks, 1, y, yd, ys, o, rows - 8 * p); \
        }                                                                                                \
        t += nt;                                                                                         \
    }                                                                                                    \
}                                                                                                        \
TARGET static inline __attribute__((always_inline)) void panel_q8_0_pass_##SUFFIX(                      \
        const uint8_t *b, const uint8_t *end, int blocks, int nt, const int8_t *const *y,                \
        const float *const *yd, const int32_t *const *corrections, float *const *out, int rows_left) {   \
    __m256 a[MAX_PASS_TOKENS][8];                                                                        \
    for (int u = 0; u < nt; u++)                                                                         \
        for (int j = 0; j < 8; j++) a[u][j] = _mm256_setzero_ps();                                       \
    for (int i = 0; i < blocks; i++, b += 272) {                                                         \
        if (b + PREFETCH_BYTES + 272 <= end)                                                             \
            for (int l = 0; l < 5; l++) _mm_prefetch((const char *)(b + PREFETCH_BYTES + 64 * l), _MM_HINT_T0); \
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));                           \
        __m256i q[8];                                                                                    \
        for (int k = 0; k < 8; k++) q[k] = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * k));       \
        for (int u = 0; u < nt; u++) {                                                                   \
            const __m256 dx = _mm256_mul_ps(d, _mm256_set1_ps(yd[u][i]));                                \
            for (int k = 0; k < 8; k++)                                                                  \
                a[u][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q8_PRODUCT_##SUFFIX(q[k],                   \
                    _mm256_set1_epi32(load_i32(y[u] + 32 * i + 4 * k)), corrections[u][8 * i + k])), dx, a[u][k]); \
        }                                                                                                \
    }                                                                                                    \
    for (int u = 0; u < nt; u++)                                                                         \
        store_panel(hsum8(a[u][0], a[u][1], a[u][2], a[u][3], a[u][4], a[u][5], a[u][6], a[u][7],        \
                          _mm256_setzero_ps()), out[u], rows_left);                                      \
}                                                                                                        \
TARGET static void panels_q8_0_##SUFFIX(const uint8_t *w, int rows, int blocks, const int8_t *xq,       \
                                        int xq_stride, const float *xd, int scale_stride, int tokens,    \
                                        float *out, int out_stride) {                                    \
    const int panels = (rows + 7) / 8;                                                                   \
    const size_t panel_bytes = (size_t)blocks * 272;                                                     \
    const uint8_t *end = w + panels * panel_bytes;                                                       \
    int32_t correction_rows[MAX_PASS_TOKENS][8 * blocks];                                                \
    for (int t = 0; t < tokens;) {                                                                       \
        const int nt = tokens - t >= PASS_TOKENS ? PASS_TOKENS : 1;                                      \
        const int8_t *y[MAX_PASS_TOKENS];                                                                \
        const float *yd[MAX_PASS_TOKENS];                                                                \
        const int32_t *corrections[MAX_PASS_TOKENS];                                                     \
        float *o[MAX_PASS_TOKENS];                                                                       \
        for (int u = 0; u < nt; u++) {                                                                   \
            y[u] = xq + (size_t)(t + u) * xq_stride;                                                     \
            yd[u] = xd + (size_t)(t + u) * scale_stride;                                                 \
            corrections[u] = correction_rows[u];                                                         \
            Q8_CORRECTIONS_##SUFFIX(y[u], blocks, correction_rows[u])                                    \
        }                                                                                                \
        for (int p = 0; p < panels; p++) {                                                               \
            for (int u = 0; u < nt; u++) o[u] = out + (size_t)(t + u) * out_stride + 8 * p;              \
            if (nt == PASS_TOKENS) panel_q8_0_pass_##SUFFIX(w + p * panel_bytes, end, blocks, PASS_TOKENS, y, yd, corrections, o, rows - 8 * p); \
            else panel_q8_0_pass_##SUFFIX(w + p * panel_bytes, end, blocks, 1, y, yd, corrections, o, rows - 8 * p); \
        }                                                                                                \
        t += nt;                                                                                         \
    }                                                                                                    \
}

// Tokens per panel pass: two share each unpacked block where AVX-512 gives 32 vector registers
// (2 × 8 accumulators + 8 unpacked chunks); with AVX2's 16 they would spill, so one.
#define MAX_PASS_TOKENS 2
#define PASS_TOKENS 1
DEFINE_KERNELS(avx2, TARGET_AVX2, PRODUCT_AVX2)
#undef PASS_TOKENS
#define PASS_TOKENS 2
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

void ctk_panels_q4_1_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        const float *xs, int scale_stride, int tokens, float *out, int out_stride) {
    if (use_vnni()) panels_q4_1_vnni(w, rows, blocks, xq, xq_stride, xd, xs, scale_stride, tokens, out, out_stride);
    else panels_q4_1_avx2(w, rows, blocks, xq, xq_stride, xd, xs, scale_stride, tokens, out, out_stride);
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

// Panels, one row at a time in the order of the vector code (the arithmetic of dot_q4_1 / dot_q8_0).
void ctk_panels_q4_1_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        const float *xs, int scale_stride, int tokens, float *out, int out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int row = 0; row < rows; row++) {
            const uint8_t *b = (const uint8_t *)w + (size_t)(row / 8) * blocks * 160;
            const int r = row % 8;
            const int8_t *y = xq + (size_t)t * xq_stride;
            float lanes[8] = {0}, offsets = 0;
            for (int i = 0; i < blocks; i++, b += 160) {
                const float dx = half_to_float(b + 2 * r) * xd[(size_t)t * scale_stride + i];
                offsets += half_to_float(b + 16 + 2 * r) * xs[(size_t)t * scale_stride + i];
                for (int c = 0; c < 4; c++) {
                    int lo = 0, hi = 0;
                    for (int e = 0; e < 4; e++) {
                        const uint8_t q = b[32 + 32 * c + 4 * r + e];
                        lo += (q & 0x0F) * y[32 * i + 4 * c + e];
                        hi += (q >> 4) * y[32 * i + 16 + 4 * c + e];
                    }
                    lanes[c] += (float)lo * dx;
                    lanes[c + 4] += (float)hi * dx;
                }
            }
            out[(size_t)t * out_stride + row] =
                (((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))) + offsets;
        }
}

void ctk_panels_q8_0_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        int scale_stride, int tokens, float *out, int out_stride) {
    for (int t = 0; t < tokens; t++)
        for (int row = 0; row < rows; row++) {
            const uint8_t *b = (const uint8_t *)w + (size_t)(row / 8) * blocks * 272;
            const int r = row % 8;
            const int8_t *y = xq + (size_t)t * xq_stride;
            float lanes[8] = {0};
            for (int i = 0; i < blocks; i++, b += 272) {
                const float dx = half_to_float(b + 2 * r) * xd[(size_t)t * scale_stride + i];
                for (int k = 0; k < 8; k++) {
                    int sum = 0;
                    for (int e = 0; e < 4; e++) sum += (int8_t)(b[16 + 32 * k + 4 * r + e] ^ 0x80) * y[32 * i + 4 * k + e];
                    lanes[k] += (float)sum * dx;
                }
            }
            out[(size_t)t * out_stride + row] =
                ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
        }
}

int ctk_uses_vnni(void) { return 0; }

#endif
