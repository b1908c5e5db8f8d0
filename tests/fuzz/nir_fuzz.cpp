// NIR files (networks/nir_file.h, networks/nir_import.h): read and checked, then imported as
// `snnsim import nir` does, as a population network or a layer graph.
#include "networks/nir_import.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snnsim::fuzz::silence_hdf5();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "input.nir");
  snnsim::fuzz::expect_clean_refusal([&] {
    snnsim::nir::read_version(path);
    snnsim::import_nir_file(path, "tensors.h5", {});
  });
  return 0;
}
