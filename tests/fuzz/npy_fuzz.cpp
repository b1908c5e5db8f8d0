// NumPy .npy files (networks/npy.h): inputs, expected outputs and weights of layer graphs.
#include "networks/npy.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "input.npy");
  snnsim::fuzz::expect_clean_refusal([&] { snnsim::read_npy(path); });
  return 0;
}
