// The AVX-512 block of MatrixMultiply. Swift cannot compile one function for another CPU than
// the rest of the module, so this block lives in C with a per-function target attribute and is
// chosen at run time; the Swift SIMD16 kernel (Haswell) remains the fallback and the scalar
// twin checks both (KernelTests).
#include "diffusion_kernels.h"
#include <immintrin.h>

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
