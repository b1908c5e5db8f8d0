// safetensors files (networks/safetensors.h): the header, then every tensor converted to float
// and the metadata, as the weights loader reads them.
#include "networks/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "input.safetensors");
  snnsim::fuzz::expect_clean_refusal([&] {
    const snnsim::SafetensorsFile file(path);
    for (const std::string& name : file.names()) {
      file.shape(name);
      file.dtype(name);
      file.read_float(name);
    }
    file.metadata();
  });
  return 0;
}
