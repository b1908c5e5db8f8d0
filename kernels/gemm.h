#pragma once
// The matrix product a device provides next to kernel launches (Device::gemm): the weighted
// layers of layer graphs (sim/graph/device_graph.h) are GEMMs. EmulatedDevice runs it with
// OpenBLAS, CudaDevice with cuBLAS. Matrices are row-major, as in cblas_sgemm with
// CblasRowMajor, so the emulated call is the CPU layers' own call.
#include <cstdint>

namespace snnsim {

/// C = alpha op(A) op(B) + beta C, `batch` times: matrix i of A starts at a + i * stride_a (a
/// stride of 0 reuses one matrix), and likewise for B and C. op(A) is m x k, op(B) k x n, C m x n.
struct GemmArguments {
  bool transpose_a = false, transpose_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int lda = 0;
  std::int64_t stride_a = 0;
  const float* b = nullptr;
  int ldb = 0;
  std::int64_t stride_b = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int ldc = 0;
  std::int64_t stride_c = 0;
  int batch = 1;
};

}  // namespace snnsim
