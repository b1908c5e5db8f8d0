#pragma once
// The grid backend's CUDA device (the interface is described in sim/grid_backend.h): device
// memory, one stream, kernel launches of the shared bodies, and CUB for stream compaction.
//
// Why CUB's DeviceSelect::Flagged for spike compaction rather than a warp ballot inside the
// update kernel: it is stable, so each step's spike list comes out ascending (the order traces
// store and the CPU backend reports, and the order pre-span delivery then walks), it is tuned per
// architecture by NVIDIA (decoupled look-back, one pass), and it keeps the update kernel a plain
// per-neuron body. The flag pass costs one byte per neuron per step, well under the update's
// own traffic.
//
// Matrix products (gemm, the weighted layers of layer graphs) are cuBLAS's, on the device's
// stream, in full FP32 (no TF32 tensor cores: the results stay within float rounding of the
// CPU's OpenBLAS products, which the spikes of the next neuron layer depend on).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/iterator/counting_iterator.h>
#include <cub/device/device_select.cuh>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kernels/gemm.h"
#include "kernels/grid.h"
#include "sim/types.h"

namespace snnsim {

/// Throws std::runtime_error "what: CUDA's message" unless `status` is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

inline void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(what) + ": " + cublasGetStatusString(status));
  }
}

/// Throws "no CUDA device is available (why); use --backend cpu" unless a GPU can be used.
inline void require_cuda_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    throw std::runtime_error(std::string("no CUDA device is available (") +
                             (status != cudaSuccess ? cudaGetErrorString(status) : "none found") +
                             "); use --backend cpu");
  }
}

template <class Kernel>
__global__ void grid_kernel(Kernel kernel) {
  kernel(GridIndex{blockIdx.x, threadIdx.x, blockDim.x, gridDim.x});
}

class CudaDevice {
 public:
  static constexpr std::string_view kName = "cuda";

  /// Device memory for n elements of T, zeroed; freed with the array.
  template <class T>
  class Array {
   public:
    Array() = default;
    explicit Array(std::size_t n) : size_(n) {
      if (n == 0) return;
      void* memory = nullptr;
      check_cuda(cudaMalloc(&memory, n * sizeof(T)), "cudaMalloc");
      memory_.reset(static_cast<T*>(memory));
      check_cuda(cudaMemset(memory, 0, n * sizeof(T)), "cudaMemset");
    }
    T* data() const { return memory_.get(); }
    std::size_t size() const { return size_; }

   private:
    struct Free {
      void operator()(T* memory) const { cudaFree(memory); }
    };
    std::unique_ptr<T, Free> memory_;
    std::size_t size_ = 0;
  };

  CudaDevice() {
    check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
    check_cuda(cudaGetDeviceProperties(&properties_, device_), "cudaGetDeviceProperties");
    // A blocking stream: it orders itself after the cudaMemset of each new Array (issued on the
    // legacy default stream), so an upload never races the zeroing of its destination.
    cudaStream_t stream = nullptr;
    check_cuda(cudaStreamCreate(&stream), "cudaStreamCreate");
    stream_.reset(stream);
  }

  /// The cuBLAS handle, created on first use (population networks never need one), bound to
  /// the device's stream so products are ordered with the kernels around them.
  cublasHandle_t blas() {
    if (!blas_) {
      cublasHandle_t handle = nullptr;
      check_cublas(cublasCreate(&handle), "cublasCreate");
      blas_.reset(handle);
      check_cublas(cublasSetStream(handle, stream()), "cublasSetStream");
      check_cublas(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }
    return blas_.get();
  }

  /// Row-major C = alpha op(A) op(B) + beta C (kernels/gemm.h). cuBLAS is column-major: a
  /// row-major matrix is its transpose there, so it computes C^T = op(B)^T op(A)^T, which is B
  /// before A with the same transpose flags.
  void gemm(const GemmArguments& g) {
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    const cublasOperation_t op_a = g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = g.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (g.batch == 1) {
      check_cublas(cublasSgemm(blas(), op_b, op_a, g.n, g.m, g.k, &g.alpha, g.b, g.ldb, g.a, g.lda,
                               &g.beta, g.c, g.ldc),
                   "cublasSgemm");
    } else {
      check_cublas(cublasSgemmStridedBatched(blas(), op_b, op_a, g.n, g.m, g.k, &g.alpha, g.b,
                                             g.ldb, g.stride_b, g.a, g.lda, g.stride_a, &g.beta,
                                             g.c, g.ldc, g.stride_c, g.batch),
                   "cublasSgemmStridedBatched");
    }
  }

  template <class T>
  Array<T> allocate(std::size_t n) {
    return Array<T>(n);
  }
  template <class T>
  void upload(T* device, const T* host, std::size_t n) {
    // Synchronous: the host buffer may be reused at once.
    check_cuda(cudaMemcpyAsync(device, host, n * sizeof(T), cudaMemcpyHostToDevice, stream()),
               "cudaMemcpy to the device");
    check_cuda(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  template <class T>
  void download(T* host, const T* device, std::size_t n) {
    if (n == 0) return;
    check_cuda(cudaMemcpyAsync(host, device, n * sizeof(T), cudaMemcpyDeviceToHost, stream()),
               "cudaMemcpy to the host");
    check_cuda(cudaStreamSynchronize(stream()), "a kernel or copy on the GPU");
  }
  template <class Kernel>
  void launch(GridShape shape, const Kernel& kernel) {
    if (shape.blocks == 0) return;
    grid_kernel<<<shape.blocks, shape.threads, 0, stream()>>>(kernel);
    check_cuda(cudaGetLastError(), "kernel launch");
  }
  /// One thread per item, 256 per block, at most 8 blocks per multiprocessor (grid-stride
  /// beyond: enough resident threads to saturate memory bandwidth, no more blocks to schedule).
  GridShape items_shape(std::uint64_t items) const {
    const std::uint64_t blocks = (items + 255) / 256;
    const std::uint64_t most = 8ull * properties_.multiProcessorCount;
    return {static_cast<std::uint32_t>(blocks < most ? blocks : most), 256};
  }
  /// The warp-per-spike kernel does not know the spike count when it is launched: a full
  /// resident grid (8 blocks of 8 warps per multiprocessor) strides over the list.
  GridShape spike_shape() const {
    return {static_cast<std::uint32_t>(8 * properties_.multiProcessorCount), 256};
  }
  void select_flagged(const std::uint8_t* flags, NeuronIndex n, NeuronIndex* out,
                      std::uint32_t* count) {
    // CUB's size query is host work: once per population size, not once per step.
    auto [known, added] = scratch_sizes_.try_emplace(n, 0);
    if (added) known->second = scratch_bytes(n);
    std::size_t bytes = known->second;
    if (bytes > scratch_.size()) scratch_ = Array<std::uint8_t>(bytes);
    check_cuda(cub::DeviceSelect::Flagged(scratch_.data(), bytes,
                                          thrust::counting_iterator<NeuronIndex>(0), flags, out,
                                          count, n, stream()),
               "cub::DeviceSelect::Flagged");
  }
  std::uint64_t scratch_bytes(NeuronIndex n) const {
    std::size_t bytes = 0;
    check_cuda(cub::DeviceSelect::Flagged(nullptr, bytes, thrust::counting_iterator<NeuronIndex>(0),
                                          static_cast<const std::uint8_t*>(nullptr),
                                          static_cast<NeuronIndex*>(nullptr),
                                          static_cast<std::uint32_t*>(nullptr), n, stream()),
               "cub::DeviceSelect::Flagged");
    return bytes;
  }
  std::uint64_t free_bytes() const {
    std::size_t free = 0, total = 0;
    check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    return free;
  }
  std::string description() const {
    return std::string(properties_.name) + " (sm_" + std::to_string(properties_.major) +
           std::to_string(properties_.minor) + ", " +
           std::to_string(properties_.multiProcessorCount) + " SMs)";
  }

 private:
  cudaStream_t stream() const { return stream_.get(); }
  struct DestroyStream {
    void operator()(cudaStream_t stream) const { cudaStreamDestroy(stream); }
  };
  struct DestroyBlas {
    void operator()(cublasHandle_t handle) const { cublasDestroy(handle); }
  };

  int device_ = 0;
  cudaDeviceProp properties_{};
  std::unique_ptr<CUstream_st, DestroyStream> stream_;
  std::unique_ptr<cublasContext, DestroyBlas> blas_;  ///< declared after the stream: freed first
  Array<std::uint8_t> scratch_;
  std::unordered_map<NeuronIndex, std::size_t> scratch_sizes_;
};

}  // namespace snnsim
