// Matrix-vector kernels for decoding, where a step multiplies every weight matrix by a handful of rows and
// reading the weights is the cost. Weights are stored (rows, K) row-major as in nn.Linear, in fp32 or bf16
// (the upper half of an fp32: widened on load by a shift); products accumulate in fp32.
#ifndef T2G_KERNELS_H
#define T2G_KERNELS_H

#include <stdint.h>

// out[n·ldo + o] = (accumulate ? out[n·ldo + o] : 0) + Σₖ x[n·ldx + k] · w[o·K + k]   for n < rows, o < outputs,
// with the kernels of `level` (below: T2G_KERNELS_*), or the best the CPU has below it.
void t2g_dot_rows_f32(float *out, long ldo, const float *x, long ldx, long rows,
                      const float *w, long outputs, long K, int accumulate, int level);
void t2g_dot_rows_bf16(float *out, long ldo, const float *x, long ldx, long rows,
                       const uint16_t *w, long outputs, long K, int accumulate, int level);

// bf16 ↔ fp32. Narrowing rounds to nearest, ties to even, NaN to 0x7FC0, as PyTorch's .to(torch.bfloat16).
void t2g_bf16_to_f32(float *out, const uint16_t *in, long count);
void t2g_f32_to_bf16(uint16_t *out, const float *in, long count);

// C (m × n, ldc) = (accumulate ? C : 0) + A (m × k, lda) · op(B), with every operand rounded to bf16 (nearest,
// ties to even) and the products summed in fp32 by AVX-512 BF16 dot products. op(B) is B (k × n, ldb) or, with
// transB, the transpose of B stored n × k (an nn.Linear weight). Returns 0, touching nothing, when the CPU has no
// bf16 dot products (or a thread's packing buffers cannot be had): the caller computes the product another way.
int t2g_gemm_bf16(float *C, long ldc, const float *A, long lda, const float *B, long ldb, int transB, long m, long n,
                  long k, int accumulate);
int t2g_has_bf16_dot(void);

// Runs `iterations` rounds of twelve independent chains of fp32 fused multiply-adds (AVX2) or of bf16 dot
// products (AVX-512 BF16) on the calling thread and returns the floating-point operations done (0 when the CPU
// has no such instruction). `sink` receives a value that depends on every chain.
enum { T2G_PEAK_FP32_FMA = 0, T2G_PEAK_BF16_DOT = 1 };
double t2g_peak_chains(int kind, long iterations, float *sink);

// The kernel levels; the best this CPU has.
enum { T2G_KERNELS_PORTABLE = 0, T2G_KERNELS_AVX2 = 1, T2G_KERNELS_AVX512 = 2 };
int t2g_best_kernel_level(void);

#endif
