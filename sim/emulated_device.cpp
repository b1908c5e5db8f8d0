#include "sim/emulated_device.h"

#include <cblas.h>

namespace snnsim {

void EmulatedDevice::gemm(const GemmArguments& g) {
  for (int i = 0; i < g.batch; ++i) {
    cblas_sgemm(CblasRowMajor, g.transpose_a ? CblasTrans : CblasNoTrans,
                g.transpose_b ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, g.alpha,
                g.a + i * g.stride_a, g.lda, g.b + i * g.stride_b, g.ldb, g.beta,
                g.c + i * g.stride_c, g.ldc);
  }
}

}  // namespace snnsim
