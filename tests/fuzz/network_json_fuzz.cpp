// Network files (networks/network_file.h): the JSON text of a population network, validated as
// `snnsim run|validate NET.json` does before anything is built.
#include <string>

#include "networks/network_file.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  snnsim::fuzz::expect_clean_refusal([&] { snnsim::parse_network(text, "fuzz.json"); });
  return 0;
}
