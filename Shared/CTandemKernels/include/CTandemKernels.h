#ifndef CTANDEM_KERNELS_H
#define CTANDEM_KERNELS_H

#include <stdint.h>

/// The innermost quantized dot products, in C with AVX2 intrinsics (a scalar fallback otherwise).
///
/// Swift reaches ~35 instructions per 32-value block at best (its widening SIMD initializers
/// compile to calls, so the Swift kernel works in 32-bit lanes); `vpmaddubsw` does the
/// 8-bit × 8-bit multiply-add in one. See docs/model-runtime.md for the measurement.
///
/// `w`: `blocks` weight blocks in ggml layout; `xq`: 32·blocks activation bytes; `xd`: per-block
/// activation scales; `xs`: per-block `d·Σq` of the activations.
float ctk_dot_q4_1_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks);
float ctk_dot_q4_0_q8(const void *w, const int8_t *xq, const float *xd, const float *xs, int blocks);
float ctk_dot_q8_0_q8(const void *w, const int8_t *xq, const float *xd, int blocks);

/// Weight panels: rows in groups of 8 interleaved block by block, so that one 32-byte load holds
/// four weights of each of eight rows and lane r of every vector is row r (a broadcast of four
/// activations multiplies all eight rows at once, and the panel streams from memory in one run).
/// Per 32-value block of a panel:
///   Q4_1 (160 bytes): d of rows 0–7 (8 halves), m of rows 0–7 (8 halves), then chunks c = 0…3 of
///        32 bytes holding bytes 4c…4c+3 of each row's 16 nibble bytes at 4r.
///   Q8_0 (272 bytes): d of rows 0–7, then chunks k = 0…7 holding values 4k…4k+3 of each row at 4r,
///        stored plus 128 (as unsigned bytes: AVX-512 VNNI multiplies unsigned × signed).
/// A matrix is its panels one after another (`blocks` blocks each); the last may be padded.
/// Each call multiplies `rows` rows (from the first panel) by `tokens` activation rows (row t at
/// `xq + t·xq_stride`, its scales at `xd/xs + t·scale_stride`) into `out[t·out_stride + row]`,
/// with the arithmetic and summation order of `ctk_dot_q4_1_q8` / `ctk_dot_q8_0_q8` (bit-identical).
void ctk_panels_q4_1_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        const float *xs, int scale_stride, int tokens, float *out, int out_stride);
void ctk_panels_q8_0_q8(const void *w, int rows, int blocks, const int8_t *xq, int xq_stride, const float *xd,
                        int scale_stride, int tokens, float *out, int out_stride);

/// Attention scores: `scores[r·score_stride + j] = scale · (q_r · k_j)` for r < `queries`,
/// j < `keys`, with q_r at `q + r·q_stride` and k_j at `k + j·k_stride`, `dim` floats each. Each
/// dot has `VectorMath.dot`'s arithmetic (two fused 8-lane accumulators over alternating groups
/// of 8 elements, added, then the lanes summed in order, the tail unfused), whatever else the
/// call holds: a score does not depend on the other queries or keys. Four keys go at a time,
/// their lane sums transposed to run side by side, and each group of keys serves every query
/// while it is in L1.
void ctk_attention_scores(const float *q, int q_stride, int queries, const float *k, int k_stride, int keys, int dim,
                          float scale, float *scores, int score_stride);

/// In place: x ← exp(x − max) / Σ, with `VectorMath.exp8`'s arithmetic in eight lanes (the sum
/// of the lanes in order, the tail with `expf`): the softmax of attention.
void ctk_softmax(float *x, int count);

/// y += Σⱼ weights[j] · rows[j] for `count` rows of `width` floats, `stride` floats apart (attention's
/// weighted sum of values): per element the rows in order, fused, as `VectorMath.addScaled` one row
/// at a time (its last width % 8 floats unfused), so 512-bit and 256-bit vectors give the same bits.
void ctk_add_weighted_rows(float *y, const float *rows, int stride, const float *weights, int count, int width);

/// 1 when the AVX-512 VNNI variants run (chosen at run time; `TANDEM_NO_VNNI=1` turns them off).
int ctk_uses_vnni(void);

#endif
