// MPI for Swift: the handles and type constants (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros, which
// Swift cannot import, so each operation text2grad needs is a small inline function here.
#ifndef T2G_MPI_SHIM_H
#define T2G_MPI_SHIM_H
#include <mpi.h>
#include <stdint.h>

/// Initialises MPI for calls from one thread at a time; returns MPI_SUCCESS or the error code.
static inline int t2g_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
}

static inline int t2g_mpi_rank(void) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

static inline int t2g_mpi_size(void) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

/// In-place sum of `count` floats over every rank.
static inline int t2g_mpi_sum_float(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

/// In-place sum of `count` doubles over every rank.
static inline int t2g_mpi_sum_double(double *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// The smallest and the largest of `value` over every rank.
static inline int t2g_mpi_min_max(uint64_t value, uint64_t *smallest, uint64_t *largest) {
    int status = MPI_Allreduce(&value, smallest, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (status != MPI_SUCCESS) return status;
    return MPI_Allreduce(&value, largest, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
}

/// Ends every rank of the job with `code` (never returns).
static inline void t2g_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static inline int t2g_mpi_finalize(void) { return MPI_Finalize(); }

#endif
