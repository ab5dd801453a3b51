// Matrix products with bf16 operands and fp32 sums (AVX-512 BF16 dot products): for the frozen weights of LoRA
// training, where the products are most of the time and the CPU multiplies bf16 pairs at twice the fp32 rate.
//
// Blocked as in Goto and van de Geijn's GEMM: B is packed KC × NC at a time into panels of NR = 32 columns, A
// MC × KC at a time into panels of MR = 8 rows, both as bf16 pairs along k (what one dot-product lane takes),
// and an 8 × 32 micro-kernel keeps its 16 accumulators in registers.
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

// Blocking measured on a 2-core Zen 4: one thread at 1.7–1.9× OpenBLAS's sgemm for the shapes of a training step.
enum { MR = 8, NR = 32, KC = 384, MC = 96, NC = 512 };

// Two rounded halves of a pair in one 32-bit lane: the lower k in the low half, as VDPBF16PS reads it.
static BF16 inline __m512i pairs16(__m512 even, __m512 odd) {
    // cvtne2ps_pbh(a, b) puts b's 16 values in the low half and a's in the high half; interleave them.
    __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(order, both);
}

// Rounds 2·count floats of one row (k, k+1, …) into count pairs, written every `stride` pairs of `out`.
static BF16 void row_pairs(uint32_t *out, long stride, const float *x, long count) {
    long p = 0;
    for (; p + 16 <= count; p += 16) {
        __m512 lo = _mm512_loadu_ps(x + 2 * p), hi = _mm512_loadu_ps(x + 2 * p + 16);
        // lo holds pairs p..p+7, hi pairs p+8..p+15; cvtne2ps packs hi's 16 values above lo's.
        __m512i packed = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        uint32_t lanes[16];
        _mm512_storeu_si512(lanes, packed);
        for (int i = 0; i < 16; i++) out[(p + i) * stride] = lanes[i];
    }
    for (; p < count; p++) {
        __m512 v = _mm512_maskz_loadu_ps(0x3, x + 2 * p);
        __m512i packed = (__m512i)_mm512_cvtne2ps_pbh(v, v);
        out[p * stride] = (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(packed));
    }
}

// Rounds 8 rows of 8 pairs (16 floats each, rows ld apart) and stores them transposed: out[j·stride + i] = pair j
// of row i (an 8 × 8 transpose of 32-bit lanes).
static BF16 inline void pairs8x8(uint32_t *out, long stride, const float *x, long ld) {
    __m256i r0 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x)), r1 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + ld));
    __m256i r2 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 2 * ld));
    __m256i r3 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 3 * ld));
    __m256i r4 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 4 * ld));
    __m256i r5 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 5 * ld));
    __m256i r6 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 6 * ld));
    __m256i r7 = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + 7 * ld));
    __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
    __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
    __m256i t4 = _mm256_unpacklo_epi32(r4, r5), t5 = _mm256_unpackhi_epi32(r4, r5);
    __m256i t6 = _mm256_unpacklo_epi32(r6, r7), t7 = _mm256_unpackhi_epi32(r6, r7);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    _mm256_storeu_si256((__m256i *)(out + 0 * stride), _mm256_permute2x128_si256(u0, u4, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 1 * stride), _mm256_permute2x128_si256(u1, u5, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 2 * stride), _mm256_permute2x128_si256(u2, u6, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 3 * stride), _mm256_permute2x128_si256(u3, u7, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 4 * stride), _mm256_permute2x128_si256(u0, u4, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 5 * stride), _mm256_permute2x128_si256(u1, u5, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 6 * stride), _mm256_permute2x128_si256(u2, u6, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 7 * stride), _mm256_permute2x128_si256(u3, u7, 0x31));
}

// One row's pairs from pair `from` on (a last odd k paired with 0), every `width` lanes of `out`.
static BF16 void row_tail(uint32_t *out, long width, const float *row, long from, long kc) {
    const long full = kc / 2;
    row_pairs(out + from * width, width, row + 2 * from, full - from);
    if (kc & 1) {
        __m512 v = _mm512_maskz_loadu_ps(0x1, row + kc - 1);
        __m512i packed = (__m512i)_mm512_cvtne2ps_pbh(v, v);
        out[full * width] = (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(packed));
    }
}

// Packs rows [0, rows) × k [0, kc) of a row-major matrix (ld) into panels of `width` rows (8 or 32): panel q holds,
// for each pair p, its `width` rows' pairs. Rows past `rows` and a last odd k are zero.
static BF16 void pack_rows(uint32_t *out, const float *x, long ld, long rows, long kc, int width) {
    const long pairs = (kc + 1) / 2, full = kc / 2;
    for (long r0 = 0; r0 < rows; r0 += width) {
        uint32_t *panel = out + r0 / width * pairs * width;
        int i = 0;
        // Eight whole rows at a time: 8 × 8 pairs transposed in registers.
        for (; i + 8 <= width && r0 + i + 8 <= rows; i += 8) {
            const float *block = x + (r0 + i) * ld;
            long p = 0;
            for (; p + 8 <= full; p += 8) pairs8x8(panel + p * width + i, width, block + 2 * p, ld);
            for (int ii = 0; ii < 8; ii++) row_tail(panel + i + ii, width, block + ii * ld, p, kc);
        }
        for (; i < width; i++) {
            if (r0 + i >= rows) {
                for (long p = 0; p < pairs; p++) panel[p * width + i] = 0;
                continue;
            }
            row_tail(panel + i, width, x + (r0 + i) * ld, 0, kc);
        }
    }
}

// Packs k [0, kc) × columns [0, cols) of a row-major k × n matrix (ld) into panels of NR columns: for each pair p,
// the NR columns' pairs (rows 2p and 2p+1). Columns past `cols` and a last odd k are zero.
static BF16 void pack_columns(uint32_t *out, const float *x, long ld, long kc, long cols) {
    const long pairs = (kc + 1) / 2;
    for (long c0 = 0; c0 < cols; c0 += NR) {
        uint32_t *panel = out + c0 / NR * pairs * NR;
        const long width = cols - c0 < NR ? cols - c0 : NR;
        for (long p = 0; p < pairs; p++) {
            const float *even = x + 2 * p * ld + c0, *odd = even + ld;
            const int hasOdd = 2 * p + 1 < kc;
            for (long j = 0; j < NR; j += 16) {
                long valid = width - j;
                __mmask16 m = valid >= 16 ? 0xffff : valid <= 0 ? 0 : (__mmask16)((1u << valid) - 1);
                __m512 e = _mm512_maskz_loadu_ps(m, even + j);
                __m512 o = hasOdd ? _mm512_maskz_loadu_ps(m, odd + j) : _mm512_setzero_ps();
                _mm512_storeu_si512(panel + p * NR + j, pairs16(e, o));
            }
        }
    }
}

// C (8 × 32 tile, ldc) = (first ? 0 : C) + Σ over `pairs` pairs of a (8 rows) · b (32 columns); only `rows` ×
// `cols` of the tile are written.
static BF16 void micro_kernel(float *c, long ldc, const uint32_t *a, const uint32_t *b, long pairs, int first,
                              long rows, long cols) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (long p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#define ROW(i, x0, x1)                                                  \
    {                                                                   \
        const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);     \
        x0 = _mm512_dpbf16_ps(x0, ai, b0);                              \
        x1 = _mm512_dpbf16_ps(x1, ai, b1);                              \
    }
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
        a += MR;
        b += NR;
    }
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    __m512 rowsOut[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                             {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (long i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        __m512 v0 = rowsOut[i][0], v1 = rowsOut[i][1];
        if (!first) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, v0);
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
}

static BF16 int gemm_bf16(float *C, long ldc, const float *A, long lda, const float *B, long ldb, int transB,
                           long m, long n, long k, int accumulate) {
    // Each thread packs into its own buffers, made once (a fresh allocation per call would fault its pages in).
    static _Thread_local uint32_t *packedA, *packedB;
    if (!packedA) packedA = aligned_alloc(64, (size_t)MC * (KC / 2) * 4);
    if (!packedB) packedB = aligned_alloc(64, (size_t)NC * (KC / 2) * 4);
    if (!packedA || !packedB) return 0;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC, pairs = (kc + 1) / 2;
            if (transB)
                pack_rows(packedB, B + jc * ldb + pc, ldb, nc, kc, NR);
            else
                pack_columns(packedB, B + pc * ldb + jc, ldb, kc, nc);
            const int first = pc == 0 && !accumulate;
            for (long ic = 0; ic < m; ic += MC) {
                const long mc = m - ic < MC ? m - ic : MC;
                pack_rows(packedA, A + ic * lda + pc, lda, mc, kc, MR);
                for (long jr = 0; jr < nc; jr += NR) {
                    const uint32_t *bp = packedB + jr / NR * pairs * NR;
                    const long cols = nc - jr < NR ? nc - jr : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        const long rows = mc - ir < MR ? mc - ir : MR;
                        micro_kernel(C + (ic + ir) * ldc + jc + jr, ldc, packedA + ir / MR * pairs * MR, bp, pairs,
                                     first, rows, cols);
                    }
                }
            }
        }
    }
    return 1;
}

int t2g_has_bf16_dot(void) {
    static int known = -1;
    if (known < 0)
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    return known;
}

int t2g_gemm_bf16(float *C, long ldc, const float *A, long lda, const float *B, long ldb, int transB, long m, long n,
                  long k, int accumulate) {
    if (!t2g_has_bf16_dot()) return 0;
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(C + i * ldc, 0, (size_t)n * sizeof(float));
        return 1;
    }
    return gemm_bf16(C, ldc, A, lda, B, ldb, transB, m, n, k, accumulate);
}

#else

int t2g_has_bf16_dot(void) { return 0; }

int t2g_gemm_bf16(float *C, long ldc, const float *A, long lda, const float *B, long ldb, int transB, long m, long n,
                  long k, int accumulate) {
    return 0;
}

#endif
