// The machine's arithmetic peak, for benchmarks that state how close a kernel comes to it: twelve independent
// chains of fused multiply-adds (enough to cover the latency on every x86 core), in registers, nothing else.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS(T, STEP)                                                                              \
    for (long i = 0; i < iterations; i++) {                                                          \
        a0 = STEP(a0); a1 = STEP(a1); a2 = STEP(a2); a3 = STEP(a3); a4 = STEP(a4); a5 = STEP(a5);     \
        a6 = STEP(a6); a7 = STEP(a7); a8 = STEP(a8); a9 = STEP(a9); a10 = STEP(a10); a11 = STEP(a11); \
    }

static __attribute__((target("avx2,fma"))) float fma_chains(long iterations) {
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(1), a1 = _mm256_set1_ps(2), a2 = _mm256_set1_ps(3), a3 = _mm256_set1_ps(4);
    __m256 a4 = _mm256_set1_ps(5), a5 = _mm256_set1_ps(6), a6 = _mm256_set1_ps(7), a7 = _mm256_set1_ps(8);
    __m256 a8 = _mm256_set1_ps(9), a9 = _mm256_set1_ps(10), a10 = _mm256_set1_ps(11), a11 = _mm256_set1_ps(12);
#define FMA(x) _mm256_fmadd_ps(x, b, c)
    CHAINS(__m256, FMA)
#undef FMA
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    return _mm256_cvtss_f32(s);
}

static __attribute__((target("avx512f,avx512bf16"))) float bf16_chains(long iterations) {
    const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80);
    __m512 a0 = _mm512_set1_ps(1), a1 = _mm512_set1_ps(2), a2 = _mm512_set1_ps(3), a3 = _mm512_set1_ps(4);
    __m512 a4 = _mm512_set1_ps(5), a5 = _mm512_set1_ps(6), a6 = _mm512_set1_ps(7), a7 = _mm512_set1_ps(8);
    __m512 a8 = _mm512_set1_ps(9), a9 = _mm512_set1_ps(10), a10 = _mm512_set1_ps(11), a11 = _mm512_set1_ps(12);
#define DOT(x) _mm512_dpbf16_ps(x, b, b)
    CHAINS(__m512, DOT)
#undef DOT
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_cvtss_f32(s);
}

double t2g_peak_chains(int kind, long iterations, float *sink) {
    if (kind == T2G_PEAK_FP32_FMA && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *sink = fma_chains(iterations);
        return 12.0 * 8 * 2 * (double)iterations;
    }
    if (kind == T2G_PEAK_BF16_DOT && t2g_has_bf16_dot()) {
        *sink = bf16_chains(iterations);
        return 12.0 * 16 * 4 * (double)iterations;
    }
    return 0;
}

#else

double t2g_peak_chains(int kind, long iterations, float *sink) { return 0; }

#endif
