#ifndef TANDEM_DIFFUSION_KERNELS_H
#define TANDEM_DIFFUSION_KERNELS_H

/// 1 when the CPU runs AVX-512F (checked once, at run time).
int tandem_cpu_has_avx512f(void);

/// C[4 × width] (+)= A[4 × k] · B[k × width], with row strides lda, ldb, ldc (in floats).
/// `width` must be a multiple of 16; 64 is the fast case (sixteen zmm accumulators).
/// Only call when tandem_cpu_has_avx512f() is 1.
void tandem_gemm_4rows_avx512(const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                              int k, int width, int accumulate);

#endif
