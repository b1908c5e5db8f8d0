// Layer-graph network files (networks/layer_graph_file.h): the JSON, the graph it builds and the
// weights it names. The seeds name the weights of tests/fixtures/graphs and examples/data, copied
// next to the input once, so that mutations of the JSON reach the weights loader.
#include "networks/layer_graph_file.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void copy_weights(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::create_directories(to);
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (entry.path().extension() == ".safetensors") {
      std::filesystem::copy_file(entry.path(), to / entry.path().filename(),
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snnsim::fuzz::silence_hdf5();
  const std::filesystem::path source = SNNSIM_SOURCE_DIR;
  copy_weights(source / "tests/fixtures/graphs", snnsim::fuzz::scratch_folder());
  copy_weights(source / "examples/data", snnsim::fuzz::scratch_folder() / "data");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "network.json");
  snnsim::fuzz::expect_clean_refusal([&] {
    if (snnsim::is_layer_graph_file(path)) snnsim::load_layer_graph_file(path);
  });
  return 0;
}
