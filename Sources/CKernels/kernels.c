#include "CKernels.h"

#include <string.h>

static inline float bf16_value(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t bf16_round(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // every NaN becomes the canonical quiet NaN, as in PyTorch
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

void t2g_bf16_to_f32(float *out, const uint16_t *in, long count) {
    for (long i = 0; i < count; i++) out[i] = bf16_value(in[i]);
}

void t2g_f32_to_bf16(uint16_t *out, const float *in, long count) {
    for (long i = 0; i < count; i++) out[i] = bf16_round(in[i]);
}

// The portable kernels: one output at a time, four partial sums (the compiler vectorises what it can).
#define PORTABLE_DOT(NAME, WT, VALUE)                                                                     \
    static void NAME(float *out, long ldo, const float *x, long ldx, long rows, const WT *w, long outputs, \
                     long K, int accumulate) {                                                          \
        for (long n = 0; n < rows; n++) {                                                               \
            const float *xr = x + n * ldx;                                                              \
            for (long o = 0; o < outputs; o++) {                                                        \
                const WT *wr = w + o * K;                                                               \
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                   \
                long k = 0;                                                                             \
                for (; k + 4 <= K; k += 4) {                                                            \
                    s0 += VALUE(wr[k]) * xr[k];                                                         \
                    s1 += VALUE(wr[k + 1]) * xr[k + 1];                                                 \
                    s2 += VALUE(wr[k + 2]) * xr[k + 2];                                                 \
                    s3 += VALUE(wr[k + 3]) * xr[k + 3];                                                 \
                }                                                                                       \
                for (; k < K; k++) s0 += VALUE(wr[k]) * xr[k];                                          \
                float s = (s0 + s1) + (s2 + s3);                                                        \
                out[n * ldo + o] = accumulate ? out[n * ldo + o] + s : s;                               \
            }                                                                                           \
        }                                                                                               \
    }

#define F32_VALUE(v) (v)
PORTABLE_DOT(portable_f32, float, F32_VALUE)
PORTABLE_DOT(portable_bf16, uint16_t, bf16_value)

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

static AVX2 INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static AVX2 INLINE __m256 load_f32(const float *p) { return _mm256_loadu_ps(p); }

static AVX2 INLINE __m256 load_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// A tile of W weight rows × R input rows (W ≤ 4, R ≤ 3): the R input vectors are loaded once per 8 columns and
// each weight vector is used R times; 12 accumulators + 3 inputs + 1 weight fill the 16 AVX registers.
// The W rows are read as W short interleaved streams (a few KB), which the hardware prefetchers pick up too late,
// so each cache line of the rows three tiles on (tiles follow one another in memory) is prefetched into L2.
// Measured on the 2-core EPYC VM: no prefetch 38–60 bf16 tokens/s, one tile ahead into L1 59–74, three tiles
// into L2 68–71 (fp32 47–53 against 44–47): noise-level differences between the distances, but none is a loss.
#define TILE(NAME, WT, LOAD, VALUE)                                                                         \
    static AVX2 INLINE void NAME(float *out, long ldo, const float *x, long ldx, const WT *w, long K,      \
                                 int accumulate, const int W, const int R) {                              \
        __m256 acc[4][3];                                                                                 \
        for (int i = 0; i < W; i++)                                                                       \
            for (int r = 0; r < R; r++) acc[i][r] = _mm256_setzero_ps();                                  \
        long k = 0;                                                                                       \
        for (; k + 8 <= K; k += 8) {                                                                      \
            __m256 xv[3];                                                                                 \
            for (int r = 0; r < R; r++) xv[r] = _mm256_loadu_ps(x + r * ldx + k);                         \
            if ((k & (64 / sizeof(WT) - 1)) == 0)                                                         \
                for (int i = 0; i < W; i++) _mm_prefetch((const char *)(w + (i + 3 * W) * K + k), _MM_HINT_T1); \
            for (int i = 0; i < W; i++) {                                                                 \
                __m256 wv = LOAD(w + i * K + k);                                                          \
                for (int r = 0; r < R; r++) acc[i][r] = _mm256_fmadd_ps(wv, xv[r], acc[i][r]);            \
            }                                                                                             \
        }                                                                                                 \
        if (W == 4 && k == K) {                                                                           \
            /* Four horizontal sums at once: the four outputs of an input row land side by side. */       \
            for (int r = 0; r < R; r++) {                                                                 \
                __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(acc[0][r], acc[1][r]), _mm256_hadd_ps(acc[2][r], acc[3][r])); \
                __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));          \
                float *o = out + r * ldo;                                                                 \
                if (accumulate) s4 = _mm_add_ps(s4, _mm_loadu_ps(o));                                     \
                _mm_storeu_ps(o, s4);                                                                     \
            }                                                                                             \
            return;                                                                                       \
        }                                                                                                 \
        for (int i = 0; i < W; i++) {                                                                     \
            for (int r = 0; r < R; r++) {                                                                 \
                float s = hsum(acc[i][r]);                                                                \
                for (long j = k; j < K; j++) s += VALUE(w[i * K + j]) * x[r * ldx + j];                   \
                float *o = out + r * ldo + i;                                                             \
                *o = accumulate ? *o + s : s;                                                             \
            }                                                                                             \
        }                                                                                                 \
    }

// Every weight tile of 4 rows is dotted with the input rows 3 at a time while it sits in L1.
#define DOT_ROWS(NAME, TILE_FN, WT)                                                                         \
    static AVX2 void NAME(float *out, long ldo, const float *x, long ldx, long rows, const WT *w,          \
                          long outputs, long K, int accumulate) {                                         \
        for (long o = 0; o < outputs; o += 4) {                                                           \
            const int W = outputs - o >= 4 ? 4 : (int)(outputs - o);                                      \
            for (long n = 0; n < rows; n += 3) {                                                          \
                const int R = rows - n >= 3 ? 3 : (int)(rows - n);                                        \
                float *ot = out + n * ldo + o;                                                            \
                const float *xt = x + n * ldx;                                                            \
                const WT *wt = w + o * K;                                                                 \
                switch (W * 4 + R) {                                                                      \
                case 4 * 4 + 3: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 4, 3); break;                \
                case 4 * 4 + 2: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 4, 2); break;                \
                case 4 * 4 + 1: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 4, 1); break;                \
                case 3 * 4 + 3: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 3, 3); break;                \
                case 3 * 4 + 2: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 3, 2); break;                \
                case 3 * 4 + 1: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 3, 1); break;                \
                case 2 * 4 + 3: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 2, 3); break;                \
                case 2 * 4 + 2: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 2, 2); break;                \
                case 2 * 4 + 1: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 2, 1); break;                \
                case 1 * 4 + 3: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 1, 3); break;                \
                case 1 * 4 + 2: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 1, 2); break;                \
                default: TILE_FN(ot, ldo, xt, ldx, wt, K, accumulate, 1, 1); break;                       \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

TILE(tile_f32, float, load_f32, F32_VALUE)
TILE(tile_bf16, uint16_t, load_bf16, bf16_value)
DOT_ROWS(avx2_f32, tile_f32, float)
DOT_ROWS(avx2_bf16, tile_bf16, uint16_t)

// The AVX-512 kernels: the same tiles with 16-wide vectors, up to 4 input rows (16 accumulators + 4 inputs + 1
// weight of the 32 registers), and the columns past the last multiple of 16 read with a mask instead of a
// scalar loop. Where the CPU has 512-bit FMA units (Zen 4 splits them, Zen 5 and Intel server cores do not) a
// batch of a few rows, which is bound by arithmetic rather than by reading the weights, runs up to twice as fast.
// Prefetching three tiles ahead stays for bf16 rows (1 KB streams: 93–97 bf16 tokens/s without, 103–135 with, on
// a Zen 5 VM), and for fp32 rows at batch 2 and more (batch 8: 269–281 fp32 tokens/s without, 321–346 with),
// but not for one fp32 row, which the hardware prefetcher follows better alone there (73–76 fp32 tokens/s
// without, 64–66 with: interleaved runs at the same measured bandwidth).
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

static AVX512 INLINE __m512 load16_f32(const float *p, __mmask16 m) {
    return m == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

static AVX512 INLINE __m512 load16_bf16(const uint16_t *p, __mmask16 m) {
    __m256i h = m == 0xffff ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(m, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static AVX512 INLINE __m256 fold512(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

#define TILE512(NAME, WT, LOAD)                                                                             \
    static AVX512 INLINE void NAME(float *out, long ldo, const float *x, long ldx, const WT *w, long K,    \
                                   int accumulate, int prefetch, const int W, const int R) {              \
        __m512 acc[4][4];                                                                                 \
        for (int i = 0; i < W; i++)                                                                       \
            for (int r = 0; r < R; r++) acc[i][r] = _mm512_setzero_ps();                                  \
        long k = 0;                                                                                       \
        for (; k + 16 <= K; k += 16) {                                                                    \
            __m512 xv[4];                                                                                 \
            for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + r * ldx + k);                         \
            if (prefetch && (k & (64 / sizeof(WT) - 1)) == 0)                                             \
                for (int i = 0; i < W; i++) _mm_prefetch((const char *)(w + (i + 3 * W) * K + k), _MM_HINT_T1); \
            for (int i = 0; i < W; i++) {                                                                 \
                __m512 wv = LOAD(w + i * K + k, (__mmask16)0xffff);                                       \
                for (int r = 0; r < R; r++) acc[i][r] = _mm512_fmadd_ps(wv, xv[r], acc[i][r]);            \
            }                                                                                             \
        }                                                                                                 \
        if (k < K) {                                                                                      \
            const __mmask16 m = (__mmask16)((1u << (K - k)) - 1);                                         \
            __m512 xv[4];                                                                                 \
            for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * ldx + k);                \
            for (int i = 0; i < W; i++) {                                                                 \
                __m512 wv = LOAD(w + i * K + k, m);                                                       \
                for (int r = 0; r < R; r++) acc[i][r] = _mm512_fmadd_ps(wv, xv[r], acc[i][r]);            \
            }                                                                                             \
        }                                                                                                 \
        for (int r = 0; r < R; r++) {                                                                     \
            float *o = out + r * ldo;                                                                     \
            if (W == 4) {                                                                                 \
                __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(fold512(acc[0][r]), fold512(acc[1][r])),         \
                                          _mm256_hadd_ps(fold512(acc[2][r]), fold512(acc[3][r])));        \
                __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));          \
                if (accumulate) s4 = _mm_add_ps(s4, _mm_loadu_ps(o));                                     \
                _mm_storeu_ps(o, s4);                                                                     \
            } else {                                                                                      \
                for (int i = 0; i < W; i++) {                                                             \
                    float s = _mm512_reduce_add_ps(acc[i][r]);                                            \
                    o[i] = accumulate ? o[i] + s : s;                                                     \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

#define TILE_CASE(FN, W, R) case W * 8 + R: FN(ot, ldo, xt, ldx, wt, K, accumulate, prefetch, W, R); break;
#define TILE_CASES(FN, W) TILE_CASE(FN, W, 1) TILE_CASE(FN, W, 2) TILE_CASE(FN, W, 3) TILE_CASE(FN, W, 4)

#define DOT_ROWS512(NAME, TILE_FN, WT, PREFETCH_ONE_ROW)                                                    \
    static AVX512 void NAME(float *out, long ldo, const float *x, long ldx, long rows, const WT *w,        \
                            long outputs, long K, int accumulate) {                                       \
        const int prefetch = rows > 1 || PREFETCH_ONE_ROW;                                                \
        for (long o = 0; o < outputs; o += 4) {                                                           \
            const int W = outputs - o >= 4 ? 4 : (int)(outputs - o);                                      \
            for (long n = 0; n < rows; n += 4) {                                                          \
                const int R = rows - n >= 4 ? 4 : (int)(rows - n);                                        \
                float *ot = out + n * ldo + o;                                                            \
                const float *xt = x + n * ldx;                                                            \
                const WT *wt = w + o * K;                                                                 \
                switch (W * 8 + R) {                                                                      \
                    TILE_CASES(TILE_FN, 4) TILE_CASES(TILE_FN, 3) TILE_CASES(TILE_FN, 2) TILE_CASES(TILE_FN, 1) \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

TILE512(tile512_f32, float, load16_f32)
TILE512(tile512_bf16, uint16_t, load16_bf16)
DOT_ROWS512(avx512_f32, tile512_f32, float, 0)
DOT_ROWS512(avx512_bf16, tile512_bf16, uint16_t, 1)

static int available_level(void) {
    static int known = -1;
    if (known < 0) {
        known = T2G_KERNELS_PORTABLE;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) known = T2G_KERNELS_AVX2;
        if (known == T2G_KERNELS_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl"))
            known = T2G_KERNELS_AVX512;
    }
    return known;
}

#else

static int available_level(void) { return T2G_KERNELS_PORTABLE; }

#endif

int t2g_best_kernel_level(void) { return available_level(); }

void t2g_dot_rows_f32(float *out, long ldo, const float *x, long ldx, long rows, const float *w, long outputs,
                      long K, int accumulate, int level) {
    switch (level < available_level() ? level : available_level()) {
#if defined(__x86_64__)
    case T2G_KERNELS_AVX512: avx512_f32(out, ldo, x, ldx, rows, w, outputs, K, accumulate); return;
    case T2G_KERNELS_AVX2: avx2_f32(out, ldo, x, ldx, rows, w, outputs, K, accumulate); return;
#endif
    default: portable_f32(out, ldo, x, ldx, rows, w, outputs, K, accumulate);
    }
}

void t2g_dot_rows_bf16(float *out, long ldo, const float *x, long ldx, long rows, const uint16_t *w, long outputs,
                      long K, int accumulate, int level) {
    switch (level < available_level() ? level : available_level()) {
#if defined(__x86_64__)
    case T2G_KERNELS_AVX512: avx512_bf16(out, ldo, x, ldx, rows, w, outputs, K, accumulate); return;
    case T2G_KERNELS_AVX2: avx2_bf16(out, ldo, x, ldx, rows, w, outputs, K, accumulate); return;
#endif
    default: portable_bf16(out, ldo, x, ldx, rows, w, outputs, K, accumulate);
    }
}
