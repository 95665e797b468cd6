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

/// 1 when the AVX-512 VNNI variants run (chosen at run time; `TANDEM_NO_VNNI=1` turns them off).
int ctk_uses_vnni(void);

#endif
