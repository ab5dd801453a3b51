// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h on the default include path).
#include <cblas.h>

// Exported by OpenBLAS's DYNAMIC_ARCH builds (Debian's): CPU detection can be redone after setting
// OPENBLAS_CORETYPE, for CPUs that 0.3.21 does not recognise and would run with SSE3 kernels.
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
