#pragma once
// The grid backend's device, emulated on the CPU: host memory, kernels run by emulate_grid() one
// thread after another, compaction by a plain loop. GridBackend<EmulatedDevice> is the CUDA
// backend with every kernel body and the whole step loop executed here, so the tests check the
// CUDA backend's logic on machines without a GPU. Launch shapes are deliberately small, so that
// every grid-stride loop goes round more than once. Matrix products (gemm, for layer graphs) are
// OpenBLAS's, as on the CPU.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/grid.h"
#include "sim/types.h"

namespace snnsim {

class EmulatedDevice {
 public:
  static constexpr std::string_view kName = "cuda-emulated";
  template <class T>
  using Array = std::vector<T>;

  EmulatedDevice() = default;
  /// A device with `memory_bytes` free, for testing the memory check.
  explicit EmulatedDevice(std::uint64_t memory_bytes) : memory_bytes_(memory_bytes) {}

  template <class T>
  Array<T> allocate(std::size_t n) {
    allocated_bytes_ += n * sizeof(T);
    return Array<T>(n);
  }
  template <class T>
  void upload(T* device, const T* host, std::size_t n) {
    std::copy_n(host, n, device);
  }
  template <class T>
  void download(T* host, const T* device, std::size_t n) {
    std::copy_n(device, n, host);
  }
  template <class Kernel>
  void launch(GridShape shape, const Kernel& kernel) {
    emulate_grid(shape, kernel);
  }
  GridShape items_shape(std::uint64_t items) const {
    const auto blocks = static_cast<std::uint32_t>(std::min<std::uint64_t>((items + 63) / 64, 3));
    return {blocks, 64};
  }
  GridShape spike_shape() const { return {3, 64}; }
  void select_flagged(const std::uint8_t* flags, NeuronIndex n, NeuronIndex* out,
                      std::uint32_t* count) {
    std::uint32_t selected = 0;
    for (NeuronIndex i = 0; i < n; ++i) {
      if (flags[i]) out[selected++] = i;
    }
    *count = selected;
  }
  /// cblas_sgemm per matrix of the batch (sim/emulated_device.cpp).
  void gemm(const GemmArguments& arguments);
  std::uint64_t scratch_bytes(NeuronIndex) const { return 0; }
  std::uint64_t free_bytes() const { return memory_bytes_; }
  std::string description() const { return "CPU grid emulation"; }
  /// Bytes allocated so far (the plan's figure, checked by the tests).
  std::uint64_t allocated_bytes() const { return allocated_bytes_; }

 private:
  std::uint64_t memory_bytes_ = 1ull << 40;
  std::uint64_t allocated_bytes_ = 0;
};

}  // namespace snnsim
