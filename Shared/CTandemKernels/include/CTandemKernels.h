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

/// Four activation rows at once against one weight row (prefill and batched decode): the
/// weight block is unpacked once for all four. Row r of the activations starts at
/// `xq + r·xq_stride` and its scales at `xd + r·scale_stride`, `xs + r·scale_stride`.
void ctk_dot4_q4_1_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd, const float *xs,
                      int scale_stride, int blocks, float *out);
void ctk_dot4_q8_0_q8(const void *w, const int8_t *xq, int xq_stride, const float *xd,
                      int scale_stride, int blocks, float *out);

/// One activation row against four consecutive weight rows (`row_bytes` apart), for decode: each
/// activation block is loaded once for the four rows.
void ctk_dot_rows4_q4_1_q8(const void *w, int row_bytes, const int8_t *xq, const float *xd, const float *xs,
                           int blocks, float *out);

/// 1 when the AVX-512 VNNI variants run (chosen at run time; `TANDEM_NO_VNNI=1` turns them off).
int ctk_uses_vnni(void);

#endif
